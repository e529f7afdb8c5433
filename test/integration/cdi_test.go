package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/registry"
)

// cdiSpec is a CDI spec of kind example.com/dev: device "null" is the
// host's /dev/null as /dev/cdi-null plus a read-only mount, an env var
// (CDI_TAG=<tag>) and a createRuntime hook that touches hookFile; device
// "loopctl" is /dev/loop-control, which no default device rule allows.
func cdiSpec(tag, dataDir, hookFile string) string {
	return `{
  "cdiVersion": "0.6.0",
  "kind": "example.com/dev",
  "devices": [
    {"name": "null", "containerEdits": {
      "deviceNodes": [{"path": "/dev/cdi-null", "hostPath": "/dev/null"}],
      "env": ["CDI_TAG=` + tag + `"],
      "mounts": [{"hostPath": "` + dataDir + `", "containerPath": "/cdi-data", "options": ["ro", "bind"]}],
      "hooks": [{"hookName": "createRuntime", "path": "/bin/sh", "args": ["sh", "-c", "touch ` + hookFile + `"]}]
    }},
    {"name": "loopctl", "containerEdits": {
      "deviceNodes": [{"path": "/dev/cdi-loopctl", "hostPath": "/dev/loop-control"}]
    }}
  ]
}`
}

// TestCDIDevices injects CDI devices into real containers from spec files
// in the daemon's private cdi_spec_dirs, written while it runs.
func TestCDIDevices(t *testing.T) {
	e := newEnv(t, registry.Image{})
	tmp := t.TempDir()
	dataDir, hookFile := filepath.Join(tmp, "data"), filepath.Join(tmp, "hooked")
	must(t, os.MkdirAll(dataDir, 0o755))
	must(t, os.WriteFile(filepath.Join(dataDir, "file"), []byte("from-cdi"), 0o644))
	specFile := filepath.Join(e.d.CDIDir(), "example.json")
	podID, podCfg := e.pod(t, "cdi")
	ctr := func(name string, devices []string, ann map[string]string) *runtimeapi.ContainerConfig {
		c := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name}, Command: []string{"sleep", "3600"}, Annotations: ann,
		}
		for _, d := range devices {
			c.CDIDevices = append(c.CDIDevices, &runtimeapi.CDIDevice{Name: d})
		}
		return c
	}
	unknown := func(t *testing.T, name, device string) {
		t.Helper()
		err := e.tryCreate(t, podID, podCfg, ctr(name, []string{device}, nil))
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), device) {
			t.Fatalf("create with unknown CDI device %s: %v, want FailedPrecondition naming it", device, err)
		}
	}

	// Before any spec file exists the device is unknown; the spec written
	// afterwards is picked up without a restart.
	unknown(t, "early", "example.com/dev=null")
	must(t, os.WriteFile(specFile, []byte(cdiSpec("one", dataDir, hookFile)), 0o644))
	id := e.createWith(t, podID, podCfg, ctr("main", []string{"example.com/dev=null", "example.com/dev=loopctl"}, nil))
	for _, tt := range []struct{ what, cmd, want string }{
		{"device node", "stat -c '%F %t:%T' /dev/cdi-null && echo x > /dev/cdi-null && echo written", "character special file 1:3\nwritten"},
		{"device cgroup rule", "exec 3<>/dev/cdi-loopctl && echo opened", "opened"},
		{"mount", "cat /cdi-data/file", "from-cdi"},
		{"env", "echo $CDI_TAG", "one"},
	} {
		t.Run(tt.what, func(t *testing.T) {
			out, stderr, code := e.exec(t, id, "sh", "-c", tt.cmd)
			if code != 0 || strings.TrimSpace(out) != tt.want {
				t.Fatalf("%s: exit %d, stdout %q, stderr %q; want %q", tt.cmd, code, out, stderr, tt.want)
			}
		})
	}
	t.Run("hook", func(t *testing.T) {
		if _, err := os.Stat(hookFile); err != nil {
			t.Fatalf("createRuntime hook from the spec did not run: %v", err)
		}
	})
	t.Run("unknown device", func(t *testing.T) {
		unknown(t, "unknown", "example.com/dev=nosuch")
	})
	t.Run("annotation form and an edited spec", func(t *testing.T) {
		must(t, os.WriteFile(specFile, []byte(cdiSpec("two", dataDir, hookFile)), 0o644))
		aid := e.createWith(t, podID, podCfg, ctr("annotated", nil, map[string]string{"cdi.k8s.io/test": "example.com/dev=null"}))
		out, stderr, code := e.exec(t, aid, "sh", "-c", "echo $CDI_TAG; ls /dev/cdi-null")
		if code != 0 || out != "two\n/dev/cdi-null\n" {
			t.Fatalf("annotated container: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
	t.Run("removed spec", func(t *testing.T) {
		must(t, os.Remove(specFile))
		unknown(t, "removed", "example.com/dev=null")
	})
}
