package integration

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/test/framework"
)

// The infra of a shared-PID pod runs without a monitor: no monitor
// sockets, the pause outside the daemon's session with /dev/null for
// stdin and stdout. A stop, before and after a daemon restart, answers once
// the pause is gone, also for an infra laid out as an older daemon's (under
// a monitor), and the pod's removal leaves no runtime container, attach
// dir or cgroup.
func TestInfraWithoutMonitor(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	pause := func(id string) (int, uint64) {
		t.Helper()
		rs := runcState(t, d, id)
		if rs == nil || rs["status"] != "running" {
			t.Fatalf("runtime state of the infra: %v", rs)
		}
		pid := int(rs["pid"].(float64))
		start, err := proc.StartTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		return pid, start
	}
	for _, tc := range []struct{ restart, oldLayout bool }{{}, {restart: true}, {oldLayout: true}} {
		restart := tc.restart
		id, _ := runPod(t, d, sharedPIDPod("unmonitored"))
		pid, start := pause(id)
		if mons := monitorsOf(t, d, []string{id}); len(mons) != 0 {
			t.Errorf("monitors of the infra: %v", mons)
		}
		if _, err := os.Stat(filepath.Join(d.Dir, "run", id)); !os.IsNotExist(err) {
			t.Errorf("attach dir of the infra: %v", err)
		}
		sid, err := unix.Getsid(pid)
		if daemonSid, err2 := unix.Getsid(d.Pid()); err != nil || err2 != nil || sid == daemonSid {
			t.Errorf("the pause runs in the daemon's session %d (%v %v)", sid, err, err2)
		}
		for fd := range 2 {
			if target, err := os.Readlink(filepath.Join("/proc", itoa(pid), "fd", itoa(fd))); err != nil || target != "/dev/null" {
				t.Errorf("fd %d of the pause: %q %v", fd, target, err)
			}
		}
		if tc.oldLayout {
			// What an older daemon's infra had: an attach dir (its monitor's
			// sockets, the monitor gone here). The stop takes the old path,
			// and still ends the pause.
			if err := os.MkdirAll(filepath.Join(d.Dir, "run", id), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if restart {
			d.Kill()
			d.Start()
			ctx = framework.Ctx(t)
			if st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id}); err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
				t.Fatalf("pod after a restart: %v %v", st.GetStatus().GetState(), err)
			}
		}
		if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
		if proc.Same(pid, start) {
			t.Errorf("%+v: the pause runs after the stop answered", tc)
		}
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
		d.Stop() // waits for the background runtime delete
		checkNoLeftovers(t, d, []string{id}, nil, true)
		d.Start()
		ctx = framework.Ctx(t)
	}
}
