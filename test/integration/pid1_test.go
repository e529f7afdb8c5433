package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// As the first process of its PID namespace (a container's entrypoint)
// crio stays behind as an init and serves as its child: the monitors of
// containers, detached and handed to PID 1, are reaped when they exit
// (the daemon alone left one zombie per stopped container), and HUP and
// TERM reach the daemon through it.
func TestDaemonAsPID1(t *testing.T) {
	e := newEnvWith(t, registry.Image{}, framework.Options{PID1: true})
	init := e.d.Pid()
	kids := nsChildren(t, init)
	if len(kids) != 1 {
		t.Fatalf("children of PID 1: %v, want the daemon alone", kids)
	}
	for pid := range kids {
		if comm := procField(pid, "Name"); comm != "crio" {
			t.Errorf("the daemon is named %q in ps, want crio", comm)
		}
	}
	pod, podCfg := e.pod(t, "pid1")
	var monitors []int
	for i := range 3 {
		id := e.create(t, pod, podCfg, fmt.Sprintf("c%d", i), "sleep", "600")
		e.start(t, id)
		mon := hostPid(t, init, monitorOf(t, e, id))
		if ppid := procField(mon, "PPid"); ppid != strconv.Itoa(init) {
			t.Fatalf("the monitor's parent is %s, want PID 1 (%d)", ppid, init)
		}
		monitors = append(monitors, mon)
		if _, err := e.d.Runtime.StopContainer(framework.Ctx(t), &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
		if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
			t.Fatalf("stopped: %v %d", st.State, st.ExitCode)
		}
		if _, err := e.d.Runtime.RemoveContainer(framework.Ctx(t), &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
	}
	// Its container gone, each monitor exits; PID 1 reaps it.
	deadline := time.Now().Add(10 * time.Second)
	for _, mon := range monitors {
		for procField(mon, "State") != "" {
			if time.Now().After(deadline) {
				t.Fatalf("monitor %d of a stopped container: %q (children of PID 1: %v)", mon, procField(mon, "State"), nsChildren(t, init))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for pid, state := range nsChildren(t, init) {
		if strings.HasPrefix(state, "Z") {
			t.Errorf("zombie %d under PID 1", pid)
		}
	}
	e.d.Signal(syscall.SIGHUP)
	e.d.WaitLog("config reloaded", 30*time.Second)
	e.d.Stop() // TERM through PID 1; the daemon's exit code 0 is PID 1's
}

// nsChildren lists the children of host pid parent with their states.
func nsChildren(t *testing.T, parent int) map[int]string {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err == nil && procField(pid, "PPid") == strconv.Itoa(parent) {
			out[pid] = procField(pid, "State")
		}
	}
	return out
}

// hostPid maps a pid the daemon reports (in its namespace, that of host
// pid init) to the host's.
func hostPid(t *testing.T, init, nsPid int) int {
	t.Helper()
	nsOf := func(pid int) string { l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); return l }
	want := nsOf(init)
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || nsOf(pid) != want {
			continue
		}
		if f := strings.Fields(procField(pid, "NSpid")); len(f) > 0 && f[len(f)-1] == strconv.Itoa(nsPid) {
			return pid
		}
	}
	var all []string
	for _, d := range dirs {
		if pid, err := strconv.Atoi(d.Name()); err == nil && nsOf(pid) == want {
			all = append(all, d.Name()+":"+procField(pid, "NSpid")+":"+procField(pid, "Name"))
		}
	}
	t.Fatalf("no process %d in the namespace of %d: %v", nsPid, init, all)
	return 0
}

// procField is a field of /proc/pid/status ("" when the process is gone).
func procField(pid int, key string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
