package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestStopSignalsWithoutRuntimeExec: SIGKILL (a stop without grace, removing
// a running container, stopping a pod's infra) and the stop signal of a
// graceful stop go through a pidfd and the infra's stop waits for its
// monitor's exit, with no `runc kill` and no `runc state` polling; the exit
// codes are still recorded. The handler's runtime is a wrapper named runc
// that logs each call.
func TestStopSignalsWithoutRuntimeExec(t *testing.T) {
	framework.RequireRoot(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "bin", "runc")
	if err := os.Mkdir(filepath.Dir(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"$*\" >> " + calls + "\nexec " + runc + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, registry.Image{}, framework.Options{Config: "\n[crio.runtime.runtimes.logged]\nruntime_path = \"" + wrapper + "\"\nruntime_root = \"" + filepath.Join(dir, "root") + "\"\n"})
	ctx := framework.Ctx(t)
	cfg := sharedPIDPod("logged")
	resp, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "logged"})
	if err != nil {
		t.Fatal(err)
	}
	pod := resp.PodSandboxId
	id := e.create(t, pod, cfg, "stopped", "sleep", "300")
	e.start(t, id)
	before, _ := os.ReadFile(calls)
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 0}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("killed container: state %v exit code %d, want EXITED 137", st.State, st.ExitCode)
	}
	// The shell's own handler answers the stop signal: exit code 7.
	graceful := e.create(t, pod, cfg, "graceful", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 1; done")
	e.start(t, graceful)
	waitHandler(t, verbosePids(t, e, graceful)[0], "sh", syscall.SIGTERM)
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: graceful, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(t, graceful); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 7 {
		t.Errorf("stopped container: state %v exit code %d, want EXITED 7 (its SIGTERM handler)", st.State, st.ExitCode)
	}
	killed := e.create(t, pod, cfg, "removed", "sleep", "300")
	e.start(t, killed)
	if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: killed}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(calls)
	for _, line := range strings.Split(strings.TrimPrefix(string(after), string(before)), "\n") {
		if f := strings.Fields(line); len(f) > 2 && (f[2] == "kill" || f[2] == "state") {
			t.Errorf("stop ran the runtime: %s", line)
		}
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Errorf("remove pod: %v", err)
	}
}

// waitHandler waits until process pid runs comm (past runc's init, which
// catches every signal too) and catches sig.
func waitHandler(t *testing.T, pid int, comm string, sig syscall.Signal) {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		name, _ := os.ReadFile(filepath.Join(dir, "comm"))
		status, _ := os.ReadFile(filepath.Join(dir, "status"))
		for _, line := range strings.Split(string(status), "\n") {
			if mask, ok := strings.CutPrefix(line, "SigCgt:"); ok && strings.TrimSpace(string(name)) == comm {
				if m, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64); err == nil && m&(1<<(sig-1)) != 0 {
					return
				}
			}
		}
	}
	t.Fatalf("process %d never ran %s with a handler for %v", pid, comm, sig)
}
