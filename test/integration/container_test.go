package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// env is a daemon with a registry holding a busybox image.
type env struct {
	d      *framework.Daemon
	reg    *registry.Registry
	image  string // pullable reference
	imgRef string // what PullImage returned
}

func newEnv(t *testing.T, img registry.Image) *env {
	t.Helper()
	return newEnvWith(t, img, framework.Options{})
}

// newEnvWith is newEnv with daemon options; the registry is added to
// opts.InsecureRegistries.
func newEnvWith(t *testing.T, img registry.Image, opts framework.Options) *env {
	t.Helper()
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", img)
	opts.InsecureRegistries = append(opts.InsecureRegistries, reg.Addr)
	d := framework.StartDaemon(t, opts)
	e := &env{d: d, reg: reg, image: reg.Addr + "/busybox:test"}
	resp, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	e.imgRef = resp.ImageRef
	return e
}

func (e *env) pod(t *testing.T, name string) (string, *runtimeapi.PodSandboxConfig) {
	t.Helper()
	cfg := framework.PodConfig(name)
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", name)
	id, _ := runPod(t, e.d, cfg)
	return id, cfg
}

func (e *env) create(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, name string, cmd ...string) string {
	t.Helper()
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  cmd,
		LogPath:  name + ".log",
		Labels:   map[string]string{"c": name},
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}}},
	}
	resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return resp.ContainerId
}

func (e *env) start(t *testing.T, id string) {
	t.Helper()
	if _, err := e.d.Runtime.StartContainer(framework.Ctx(t), &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("start: %v", err)
	}
}

func (e *env) status(t *testing.T, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st.Status
}

func (e *env) waitExited(t *testing.T, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := e.status(t, id)
		if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s never exited: %+v", id, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-Z][0-9:]* (stdout|stderr) (P|F) (.*)$`)

func TestContainerLifecycleExitCodeAndLogs(t *testing.T) {
	e := newEnv(t, registry.Image{Cmd: []string{"sh"}})
	podID, podCfg := e.pod(t, "life")
	id := e.create(t, podID, podCfg, "exit3", "sh", "-c", "echo hello; echo oops >&2; exit 3")
	st := e.status(t, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_CREATED || st.ImageId != e.imgRef || st.Labels["c"] != "exit3" {
		t.Fatalf("after create: %+v (pulled %s)", st, e.imgRef)
	}
	e.start(t, id)
	st = e.waitExited(t, id)
	if st.ExitCode != 3 || st.Reason != "Error" || st.FinishedAt == 0 || st.StartedAt == 0 {
		t.Errorf("exit: %+v", st)
	}
	data, err := os.ReadFile(st.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	got := map[string]string{}
	for _, l := range lines {
		m := logLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("log line not in CRI format: %q", l)
		}
		got[m[1]] = m[3]
	}
	if got["stdout"] != "hello" || got["stderr"] != "oops" {
		t.Errorf("log: %q", data)
	}
	// The monitor's own diagnostics are kept beside the bundle.
	mlog, err := os.ReadFile(filepath.Join(e.bundle(t, id), "monitor.log"))
	if err != nil || !strings.Contains(string(mlog), `msg="container exited"`) || !strings.Contains(string(mlog), "code=3") {
		t.Errorf("monitor.log (%v): %q", err, mlog)
	}
	// Starting an exited container is refused; stop of an exited one succeeds.
	if _, err := e.d.Runtime.StartContainer(framework.Ctx(t), &runtimeapi.StartContainerRequest{ContainerId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("restart of exited container: %v", err)
	}
	if _, err := e.d.Runtime.StopContainer(framework.Ctx(t), &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
		t.Errorf("stop exited: %v", err)
	}
	// The image is in use: removal refused until the container is gone.
	if _, err := e.d.Image.RemoveImage(framework.Ctx(t), &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("remove image in use: %v", err)
	}
	if _, err := e.d.Runtime.RemoveContainer(framework.Ctx(t), &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("status after remove: %v", err)
	}
	if _, err := e.d.Image.RemoveImage(framework.Ctx(t), &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Errorf("remove image after container: %v", err)
	}
}

func TestContainerStopEscalatesAndExecSync(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "stop")
	id := e.create(t, podID, podCfg, "sleeper", "sh", "-c", "trap '' TERM; while true; do sleep 1; done")
	e.start(t, id)
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("running: %+v", st)
	}
	ctx := framework.Ctx(t)
	ex, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, Timeout: 10})
	if err != nil || string(ex.Stdout) != "out\n" || string(ex.Stderr) != "err\n" || ex.ExitCode != 7 {
		t.Errorf("exec: %v %+v", err, ex)
	}
	_, err = e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"tail", "-f", "/dev/null"}, Timeout: 1})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("exec timeout: %v", err)
	}
	ps, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"ps", "-o", "pid,args"}, Timeout: 10})
	if err != nil || strings.Contains(string(ps.Stdout), "tail") { // also not as an unreaped zombie
		t.Errorf("the timed-out exec process is still there: %v\n%s", err, ps.GetStdout())
	}
	ex, err = e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"/no/such/binary"}})
	if err != nil || ex.ExitCode == 0 || len(ex.Stderr) == 0 {
		t.Errorf("exec of missing binary: %v %+v", err, ex)
	}
	// A background process keeping the output open does not hold the reply
	// (no exec timeout: it would otherwise wait for the sleep to end).
	bctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	ex, err = e.d.Runtime.ExecSync(bctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "sleep 600 & echo started"}})
	cancel()
	if err != nil || string(ex.Stdout) != "started\n" || ex.ExitCode != 0 {
		t.Errorf("exec leaving a background process: %v %+v", err, ex)
	}
	start := time.Now()
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	st := e.status(t, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("after stop ignoring TERM: %+v", st)
	}
	t.Logf("stop with 1s timeout took %s", time.Since(start))
}

func TestSharedPIDNamespacePod(t *testing.T) {
	e := newEnv(t, registry.Image{})
	cfg := framework.PodConfig("sharedpid")
	cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
	podID, _ := runPod(t, e.d, cfg)
	mk := func(name string, cmd ...string) string {
		c := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Image:    &runtimeapi.ImageSpec{Image: e.image},
			Command:  cmd,
			Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}}},
		}
		resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: c, SandboxConfig: cfg})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		e.start(t, resp.ContainerId)
		return resp.ContainerId
	}
	mk("sleeper", "sleep", "3600")
	other := mk("looker", "sleep", "3600")
	ex, err := e.d.Runtime.ExecSync(framework.Ctx(t), &runtimeapi.ExecSyncRequest{ContainerId: other, Cmd: []string{"ps", "-o", "pid,args"}, Timeout: 10})
	if err != nil {
		t.Fatal(err)
	}
	out := string(ex.Stdout)
	if !strings.Contains(out, "sleep 3600") || !strings.Contains(out, "/pause") || strings.Count(out, "sleep 3600") < 2 {
		t.Errorf("containers of a shared-PID pod must see each other and pause as PID 1:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\s*1\s+/pause`).MatchString(out) {
		t.Errorf("pause is not PID 1:\n%s", out)
	}
	// Stopping the pod ends the infra process too (the runtime's delete of
	// the dead infra may still be under way).
	if _, err := e.d.Runtime.StopPodSandbox(framework.Ctx(t), &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	list, _ := exec.Command("runc", "--root", filepath.Join(e.d.Dir, "run/runc"), "list").Output()
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 2 && f[2] != "stopped" {
			t.Errorf("after pod stop the infra is gone and containers are stopped: %s", line)
		}
	}
}
