package integration

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
)

// linkLogsHandler is a runc handler, "linklogs", that allows CRI-O's
// link-logs annotation (as CRI-O's own test configures it).
func linkLogsHandler(t *testing.T) string {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	return `
[crio.runtime.runtimes.linklogs]
runtime_path = "` + runc + `"
runtime_root = "` + filepath.Join(t.TempDir(), "linklogs") + `"
allowed_annotations = ["link-logs.crio.io"]
`
}

// kubeletEmptyDir makes the emptyDir volume the kubelet would, under the
// real kubelet pods dir (the one CRI-O links into), and removes it and any
// parent it had to create at the end.
func kubeletEmptyDir(t *testing.T, uid, vol string) string {
	t.Helper()
	var made []string
	for _, d := range []string{"/var/lib/kubelet", "/var/lib/kubelet/pods"} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			made = append(made, d)
		}
	}
	dir := filepath.Join("/var/lib/kubelet/pods", uid, "volumes/kubernetes.io~empty-dir", vol)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for unix.Unmount(dir, unix.MNT_DETACH) == nil {
		}
		_ = os.RemoveAll(filepath.Join("/var/lib/kubelet/pods", uid))
		for i := len(made) - 1; i >= 0; i-- {
			_ = os.Remove(made[i])
		}
	})
	return dir
}

// testLinkLogs: with link-logs, the emptyDir shows the pod's logs (read-only)
// and "<id>.log" links each container's log, inside the container too; the
// link goes when the pod stops.
func testLinkLogs(t *testing.T, e *env, _ string, _ *runtimeapi.PodSandboxConfig) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	uid := "ctrdetails-" + hex.EncodeToString(b)
	vol := kubeletEmptyDir(t, uid, "logging-volume")
	cfg := framework.PodConfig("linklogs")
	cfg.Metadata.Uid = uid
	cfg.Annotations = map[string]string{"link-logs.crio.io": "logging-volume"}
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "linklogs")
	ctx := framework.Ctx(t)
	resp, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "linklogs"})
	if err != nil {
		t.Fatal(err)
	}
	podID := resp.PodSandboxId
	id := e.createWith(t, podID, cfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "logger"},
		Command:  []string{"sh", "-c", "echo Hello log linking && sleep 1000"},
		LogPath:  "logger/0.log",
		Mounts:   []*runtimeapi.Mount{{HostPath: vol, ContainerPath: "/mnt/logging-volume"}},
	})
	for _, p := range []string{filepath.Join(vol, "logger/0.log"), filepath.Join(vol, id+".log")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("linked log: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, code := e.exec(t, id, "cat", "/mnt/logging-volume/"+id+".log")
		if code == 0 && strings.Contains(out, "Hello log linking") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container never saw its log through the link: %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, _, code := e.exec(t, id, "touch", "/mnt/logging-volume/x"); code == 0 {
		t.Error("the linked log dir is writable from the pod")
	}
	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(vol, id+".log")); err == nil {
		t.Error("linked log still in the volume after the pod stopped")
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
}
