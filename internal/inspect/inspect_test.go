package inspect

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crio-runtime/crio/internal/errdefs"
)

type fakeSource struct{}

func (fakeSource) Info() Info {
	return Info{StorageDriver: "overlay", StorageRoot: "/var/lib/containers/storage", CgroupDriver: "systemd"}
}
func (fakeSource) Config() ([]byte, error) { return []byte("[crio]\n"), nil }
func (fakeSource) Container(id string) (*Container, error) {
	if id != "abc" {
		return nil, errdefs.NotFound("container %q not found", id)
	}
	return &Container{Name: "k8s_c_p_ns_uid_0", Pid: 7, Labels: map[string]string{"io.kubernetes.container.name": "c"}, IPs: []string{"10.0.0.2"}}, nil
}

func get(t *testing.T, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler(fakeSource{}).ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestHandlerFieldNames: the JSON keys are CRI-O's, which cAdvisor decodes.
func TestHandlerFieldNames(t *testing.T) {
	code, body := get(t, http.MethodGet, "/info")
	var m map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("/info: %d %s", code, body)
	}
	for _, k := range []string{"storage_driver", "storage_root", "storage_image", "cgroup_driver", "default_id_mappings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("/info lacks %q: %s", k, body)
		}
	}
	code, body = get(t, http.MethodGet, "/containers/abc")
	m = nil
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("/containers/abc: %d %s", code, body)
	}
	for _, k := range []string{"name", "pid", "image", "image_ref", "created_time", "labels", "annotations", "crio_annotations", "log_path", "root", "sandbox", "ip_addresses"} {
		if _, ok := m[k]; !ok {
			t.Errorf("/containers lacks %q: %s", k, body)
		}
	}
	if m["pid"] != float64(7) || m["name"] != "k8s_c_p_ns_uid_0" {
		t.Errorf("/containers/abc: %s", body)
	}
}

func TestHandlerErrors(t *testing.T) {
	if code, body := get(t, http.MethodGet, "/containers/nope"); code != http.StatusNotFound || !strings.Contains(body, "nope") {
		t.Errorf("unknown container: %d %q", code, body)
	}
	if code, _ := get(t, http.MethodPost, "/info"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /info: %d", code)
	}
	if code, _ := get(t, http.MethodGet, "/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
	if code, body := get(t, http.MethodGet, "/config"); code != 200 || body != "[crio]\n" {
		t.Errorf("/config: %d %q", code, body)
	}
}
