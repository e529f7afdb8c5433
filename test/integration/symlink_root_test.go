package integration

import (
	"os"
	"path/filepath"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestRootThroughSymlink: storage and run dirs reached through a symlink
// (a graph root moved to a bigger disk, or under /var/run -> /run) still
// run containers and shared-PID pods' infra; runc refuses a rootfs path
// through a symlink, so the daemon hands it the real one.
func TestRootThroughSymlink(t *testing.T) {
	framework.RequireRoot(t)
	real, err := os.MkdirTemp("/var/tmp", "crt-real-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { framework.CleanupDir(t, real) })
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, registry.Image{Cmd: []string{"sh"}}, framework.Options{
		DropIn: "[crio]\nroot = \"" + link + "/root\"\nrunroot = \"" + link + "/runroot\"\n",
	})
	for _, shared := range []bool{false, true} {
		cfg := framework.PodConfig("sym")
		if shared {
			cfg = sharedPIDPod("symshared")
		}
		cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", cfg.Metadata.Name)
		podID, _ := runPod(t, e.d, cfg)
		id := e.create(t, podID, cfg, "c", "sh", "-c", "exit 0")
		e.start(t, id)
		if st := e.waitExited(t, id); st.ExitCode != 0 {
			t.Errorf("shared PID %v: exit %d %s", shared, st.ExitCode, st.Message)
		}
		ps, err := e.d.Runtime.PodSandboxStatus(framework.Ctx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID})
		if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			t.Errorf("shared PID %v: pod %v %v", shared, ps.GetStatus().GetState(), err)
		}
	}
}
