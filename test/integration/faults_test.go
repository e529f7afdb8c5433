package integration

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

func runcRoot(d *framework.Daemon) string { return filepath.Join(d.Dir, "run", "runc") }

// runcState is runc's view of container id, nil when runc does not know it.
func runcState(t *testing.T, d *framework.Daemon, id string) map[string]any {
	t.Helper()
	out, err := exec.Command("runc", "--root", runcRoot(d), "state", id).Output()
	if err != nil {
		return nil
	}
	st := map[string]any{}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// runcList lists the runtime's containers. A container the daemon deletes
// in the background meanwhile can make one `runc list` fail (its state
// read half-way through the deletion), so it tries a few times.
func runcList(t *testing.T, d *framework.Daemon) []string {
	t.Helper()
	var err error
	for range 5 {
		var out []byte
		if out, err = exec.Command("runc", "--root", runcRoot(d), "list", "-q").Output(); err == nil {
			return strings.Fields(string(out))
		}
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("runc list: %v", err)
	return nil
}

func sharedPIDPod(name string) *runtimeapi.PodSandboxConfig {
	cfg := framework.PodConfig(name)
	cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
	return cfg
}

// waitGone waits until pid is no running process (its parent may take a
// moment to reap it).
func waitProcGone(t *testing.T, pid int, start uint64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); proc.Same(pid, start); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not go away", pid)
		}
	}
}

// spawnOnPid starts "sleep" with the given pid by setting ns_last_pid just
// below it; other processes may take the pid first, so it retries.
func spawnOnPid(t *testing.T, pid int) *exec.Cmd {
	t.Helper()
	for range 50 {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0o644); err != nil {
			t.Logf("ns_last_pid: %v", err)
			return nil
		}
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if cmd.Process.Pid == pid {
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			return cmd
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return nil
}

// A pod whose infra (pause) process was killed is NOTREADY, and a new
// container is refused, even once the pause's pid names a host process.
func TestInfraPidReuse(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	cfg := sharedPIDPod("pidreuse")
	podID, st := runPod(t, e.d, cfg)
	if st.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod: %v", st)
	}
	// Across a restart the pod stays ready and its containers still join
	// the infra's PID namespace.
	e.d.Kill()
	e.d.Start()
	ctx = framework.Ctx(t)
	if ps, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID}); err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod after a restart: %v %v", ps.GetStatus().GetState(), err)
	}
	early := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "early"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}}},
	}
	resp, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: early, SandboxConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, resp.ContainerId)
	if out, _, _ := e.exec(t, resp.ContainerId, "ps", "-o", "pid,args"); !strings.Contains(out, "/pause") {
		t.Errorf("the container does not share the infra's PID namespace:\n%s", out)
	}
	rs := runcState(t, e.d, podID)
	if rs == nil {
		t.Fatal("runc does not know the infra process")
	}
	pause := int(rs["pid"].(float64))
	start, err := proc.StartTime(pause)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pause, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitProcGone(t, pause, start)
	if cmd := spawnOnPid(t, pause); cmd != nil {
		t.Logf("pid %d of the pause process now names a host sleep", pause)
	} else {
		t.Logf("could not force the reuse of pid %d; checking the exited infra only", pause)
	}
	ps, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID})
	if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("status of a pod whose infra exited: %v %v", ps.GetStatus().GetState(), err)
	}
	list, err := e.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: podID}})
	if err != nil || len(list.Items) != 1 || list.Items[0].State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("list of a pod whose infra exited: %v %v", list, err)
	}
	c := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "late"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}}},
	}
	_, err = e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: c, SandboxConfig: cfg})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("create in a pod whose infra exited: %v", err)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("remove: %v", err)
	}
	e.d.Stop() // the runtime's delete runs in the background; shutdown waits for it
	if runcState(t, e.d, podID) != nil {
		t.Error("the infra's runtime container outlived the pod")
	}
}

// monitorOf returns the monitor pid ContainerStatus reports.
func monitorOf(t *testing.T, e *env, id string) int {
	t.Helper()
	resp, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		MonitorPid int `json:"monitorPid"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil || info.MonitorPid <= 0 {
		t.Fatalf("monitor pid: %v %q", err, resp.Info["info"])
	}
	return info.MonitorPid
}

func killMonitorWait(t *testing.T, e *env, id string) { killProcWait(t, monitorOf(t, e, id)) }

func killProcWait(t *testing.T, pid int) {
	t.Helper()
	start, err := proc.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitProcGone(t, pid, start)
}

// checkLost checks the exit the daemon recorded for a container whose
// monitor died, that the process is gone, and that stop and remove work.
func checkLost(t *testing.T, e *env, id string) {
	t.Helper()
	ctx := framework.Ctx(t)
	st := e.status(t, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 255 || st.Reason != "ContainerMonitorLost" || !strings.Contains(st.Message, "monitor") {
		t.Errorf("status after the monitor died: %v code %d reason %q message %q", st.State, st.ExitCode, st.Reason, st.Message)
	}
	if rs := runcState(t, e.d, id); rs != nil && rs["status"] != "stopped" {
		t.Errorf("the container still runs: %v", rs["status"])
	}
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 5}); err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Errorf("remove: %v", err)
	}
}

// A container whose monitor was SIGKILLed is killed and recorded EXITED
// (255, ContainerMonitorLost), with the daemon up and across a restart.
func TestMonitorKilled(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "monlost")
	chatty := []string{"sh", "-c", "while true; do echo tick; sleep 0.1; done"}
	live := e.create(t, podID, podCfg, "live", chatty...)
	e.start(t, live)
	stopped := e.create(t, podID, podCfg, "stopped", chatty...)
	e.start(t, stopped)
	down := e.create(t, podID, podCfg, "down", chatty...)
	e.start(t, down)

	// Daemon up, no call: the daemon notices by itself.
	killMonitorWait(t, e, live)
	for deadline := time.Now().Add(60 * time.Second); e.status(t, live).State != runtimeapi.ContainerState_CONTAINER_EXITED; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not notice the dead monitor")
		}
	}
	checkLost(t, e, live)

	// StopContainer right after the monitor died.
	killMonitorWait(t, e, stopped)
	if _, err := e.d.Runtime.StopContainer(framework.Ctx(t), &runtimeapi.StopContainerRequest{ContainerId: stopped, Timeout: 5}); err != nil {
		t.Errorf("stop right after the monitor died: %v", err)
	}
	checkLost(t, e, stopped)

	// The monitor dies while the daemon is down.
	mon := monitorOf(t, e, down)
	e.d.Kill()
	killProcWait(t, mon)
	e.d.Start()
	checkLost(t, e, down)
	if _, err := e.d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("remove pod: %v", err)
	}
}

// armFault restarts d with the fault point named fault armed.
func armFault(d *framework.Daemon, fault string) {
	d.Stop()
	d.SetEnv("CRIO_TEST_FAULT=" + fault)
	d.Start()
}

// crashRun runs a PID-sharing pod with the fault armed; the daemon dies
// at the fault point and is restarted without it.
func crashRun(t *testing.T, d *framework.Daemon, fault, name string) {
	t.Helper()
	armFault(d, fault)
	_, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: sharedPIDPod(name)})
	if err == nil {
		t.Fatalf("fault %s: RunPodSandbox succeeded; the daemon was to crash", fault)
	}
	if code := d.Wait(30 * time.Second); code == 0 {
		t.Fatalf("fault %s: the daemon exited cleanly", fault)
	}
	d.SetEnv()
}

// checkNoLeftovers checks that nothing of a pod is left: no runtime
// container, monitor or infra process, bundle or pod dir.
func checkNoLeftovers(t *testing.T, d *framework.Daemon, ids []string, monitors map[int]uint64, podDirs bool) {
	t.Helper()
	if l := runcList(t, d); len(l) != 0 {
		t.Errorf("runtime containers left: %v", l)
	}
	for pid, start := range monitors {
		if proc.Same(pid, start) {
			t.Errorf("process %d (a monitor or an infra) left running", pid)
		}
	}
	for _, id := range ids {
		paths := []string{filepath.Join(d.Dir, "run", "storage", "crio", "containers", id), filepath.Join(d.Dir, "run", id)}
		if podDirs {
			paths = append(paths, filepath.Join(d.Dir, "run", "storage", "crio", "pods", id))
		}
		for _, pat := range []string{"/sys/fs/cgroup/*/crio-", "/sys/fs/cgroup/*/*/crio-", "/sys/fs/cgroup/*/*/*/crio-"} {
			paths = append(paths, globAll(pat+id)...)
		}
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("left behind: %s", p)
			}
		}
	}
}

// monitorsOf finds the monitors serving the given containers' control
// sockets (the sockets' peers).
func monitorsOf(t *testing.T, d *framework.Daemon, ids []string) map[int]uint64 {
	t.Helper()
	out := map[int]uint64{}
	for _, id := range ids {
		pid, err := monitor.MonitorPID(framework.Ctx(t), filepath.Join(d.Dir, "run", id, "ctl"))
		if err != nil {
			continue
		}
		if start, err := proc.StartTime(pid); err == nil {
			out[pid] = start
		}
	}
	return out
}

// infraProcs are the init processes of the given runtime containers.
func infraProcs(t *testing.T, d *framework.Daemon, ids []string) map[int]uint64 {
	t.Helper()
	out := map[int]uint64{}
	for _, id := range ids {
		st := runcState(t, d, id)
		pid, _ := st["pid"].(float64)
		if pid <= 0 {
			continue
		}
		if start, err := proc.StartTime(int(pid)); err == nil {
			out[int(pid)] = start
		}
	}
	return out
}

// A daemon SIGKILLed during RunPodSandbox of a PID-sharing pod (its record
// written, its infra not yet running) undoes the pod at restart; a runtime
// container no record owns is deleted with its process and bundle.
func TestCrashDuringSharedPIDPodRun(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	for _, fault := range []string{"after-pod-record", "after-infra-create"} {
		crashRun(t, d, fault, "crash")
		ids := runcList(t, d)
		if fault == "after-infra-create" && len(ids) != 1 {
			t.Fatalf("fault %s: runtime containers %v, want the infra", fault, ids)
		}
		pods, _ := filepath.Glob(filepath.Join(d.Dir, "state", "pods", "*.json"))
		for _, p := range pods {
			ids = append(ids, strings.TrimSuffix(filepath.Base(p), ".json"))
		}
		mons := monitorsOf(t, d, ids)
		maps.Copy(mons, infraProcs(t, d, ids))
		if fault == "after-infra-create" && len(mons) != 1 {
			t.Errorf("fault %s: processes of the pod %v, want its infra", fault, mons)
		}
		if fault == "after-infra-create" && len(globAll("/sys/fs/cgroup/*/crio-"+ids[0])) == 0 {
			t.Errorf("the infra of %s has no cgroup to check", ids[0])
		}
		d.Start()
		list, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("fault %s: pods after restart: %v %v", fault, list, err)
		}
		checkNoLeftovers(t, d, ids, mons, true)
	}
	// The same pod can then be run, and it shares one PID namespace.
	id, st := runPod(t, d, sharedPIDPod("crash"))
	if st.State != runtimeapi.PodSandboxState_SANDBOX_READY || runcState(t, d, id) == nil {
		t.Errorf("pod after the undone runs: %v", st)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}

	// An infra whose pod record is lost: nothing owns it, the sweep
	// deletes it.
	crashRun(t, d, "after-infra-create", "orphan")
	ids := runcList(t, d)
	if len(ids) != 1 {
		t.Fatalf("runtime containers %v, want the infra", ids)
	}
	if err := os.Remove(filepath.Join(d.Dir, "state", "pods", ids[0]+".json")); err != nil {
		t.Fatal(err)
	}
	// The infra runs without a monitor: the process itself must go.
	if mons := monitorsOf(t, d, ids); len(mons) != 0 {
		t.Errorf("monitors of the orphan's infra: %v", mons)
	}
	mons := infraProcs(t, d, ids)
	if len(mons) != 1 {
		t.Errorf("infra processes of the orphan: %v", mons)
	}
	// And a bundle whose runtime create never ran.
	stray := strings.Repeat("ab", 32)
	if err := os.MkdirAll(filepath.Join(d.Dir, "run", "storage", "crio", "containers", stray), 0o700); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, stray)
	d.Start()
	// The pod's own files had no record either; only the runtime's side is swept.
	checkNoLeftovers(t, d, ids, mons, false)
}

func globAll(pattern string) []string {
	m, _ := filepath.Glob(pattern)
	return m
}

// A daemon SIGKILLed after a container's start and before its record says
// so restores the container started: running, or exited with its code.
func TestCrashBeforeStartRecorded(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	podID, podCfg := e.pod(t, "startrec")
	armFault(e.d, "after-runtime-start")
	startCrash := func(name string, cmd ...string) string {
		t.Helper()
		id := e.create(t, podID, podCfg, name, cmd...)
		if _, err := e.d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err == nil {
			t.Fatal("StartContainer answered; the daemon was to crash after the runtime's start")
		}
		if code := e.d.Wait(30 * time.Second); code == 0 {
			t.Fatal("the daemon exited cleanly")
		}
		return id
	}
	runs := startCrash("runs", "sleep", "3600")
	e.d.Start()
	exits := startCrash("exits", "sh", "-c", "exit 3")
	exitRecord := filepath.Join(e.d.Dir, "exits", exits)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(exitRecord); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the monitor wrote no exit record")
		}
	}
	e.d.SetEnv()
	e.d.Start()
	if st := e.status(t, runs); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 {
		t.Errorf("running container restored as %v, started at %d", st.State, st.StartedAt)
	}
	if st := e.status(t, exits); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 3 || st.StartedAt == 0 || st.StartedAt > st.FinishedAt {
		t.Errorf("exited container restored as %v code %d, started at %d, finished at %d", st.State, st.ExitCode, st.StartedAt, st.FinishedAt)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("remove pod: %v", err)
	}
}
