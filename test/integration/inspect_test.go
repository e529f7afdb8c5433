package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/inspect"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// inspectGet is cAdvisor's CRI-O client: plain HTTP/1 GETs on the CRI
// socket, host "crio".
func inspectGet(t *testing.T, socket, path string, into any) int {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := client.Get("http://crio" + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return resp.StatusCode
}

// TestInspectAPIOnCRISocket: the CRI socket answers CRI-O's HTTP API
// beside gRPC, with what cAdvisor reads to name a crio-<id> cgroup's pod
// and container and to find the image filesystem.
func TestInspectAPIOnCRISocket(t *testing.T) {
	e := newEnv(t, registry.Image{Cmd: []string{"sh"}})
	// A client that connects and says nothing holds up no one.
	silent, err := net.Dial("unix", e.d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	podID, podCfg := e.pod(t, "insp")
	id := e.create(t, podID, podCfg, "web", "sleep", "300")
	e.start(t, id)

	var info inspect.Info
	if code := inspectGet(t, e.d.Socket, "/info", &info); code != http.StatusOK {
		t.Fatalf("/info: %d", code)
	}
	if info.StorageDriver != "vfs" || info.StorageRoot != e.d.Dir+"/storage" || info.CgroupDriver != "cgroupfs" {
		t.Errorf("/info: %+v", info)
	}

	var c inspect.Container
	if code := inspectGet(t, e.d.Socket, "/containers/"+id, &c); code != http.StatusOK {
		t.Fatalf("/containers/%s: %d", id, code)
	}
	md := podCfg.Metadata
	if want := fmt.Sprintf("k8s_web_%s_%s_%s_0", md.Name, md.Namespace, md.Uid); c.Name != want {
		t.Errorf("name %q, want %q", c.Name, want)
	}
	pids := verbosePids(t, e, id)
	if c.Pid == 0 || c.Pid != pids[0] || c.Sandbox != podID || c.Labels["c"] != "web" || c.Image != e.image || c.ImageRef == "" || c.CreatedTime == 0 {
		t.Errorf("/containers/%s: %+v (pids %v)", id, c, pids)
	}
	if st, err := os.Stat(c.Root); err != nil || !st.IsDir() {
		t.Errorf("root %q: %v", c.Root, err)
	}
	if len(c.IPs) == 0 || c.LogPath != e.status(t, id).LogPath {
		t.Errorf("ips %v, log path %q", c.IPs, c.LogPath)
	}

	var pod inspect.Container
	if code := inspectGet(t, e.d.Socket, "/containers/"+podID, &pod); code != http.StatusOK {
		t.Fatalf("/containers/%s (pod): %d", podID, code)
	}
	if pod.Labels["io.kubernetes.container.name"] != "POD" || pod.Labels["app"] != "insp" || pod.Sandbox != podID || pod.Name != fmt.Sprintf("k8s_POD_%s_%s_%s_0", md.Name, md.Namespace, md.Uid) {
		t.Errorf("pod: %+v", pod)
	}
	var short inspect.Container
	if code := inspectGet(t, e.d.Socket, "/containers/"+id[:12], &short); code != http.StatusOK || short.Name != c.Name {
		t.Errorf("/containers/%s (a prefix): %d %+v", id[:12], code, short)
	}
	if code := inspectGet(t, e.d.Socket, "/containers/0123456789abcdef", nil); code != http.StatusNotFound {
		t.Errorf("unknown id: %d, want 404", code)
	}

	// A new gRPC connection on the same socket still gets the CRI.
	conn, err := grpc.NewClient("unix://"+e.d.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := runtimeapi.NewRuntimeServiceClient(conn).Version(framework.Ctx(t), &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("gRPC after HTTP: %v", err)
	}
}
