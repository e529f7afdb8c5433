package integration

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// stubborn starts a container whose shell catches SIGTERM and goes on.
func stubborn(t *testing.T, e *env, name string) (id string) {
	t.Helper()
	podID, podCfg := e.pod(t, name)
	id = e.create(t, podID, podCfg, name, "sh", "-c", "trap 'echo term' TERM; while :; do sleep 1; done")
	e.start(t, id)
	waitHandler(t, verbosePids(t, e, id)[0], "sh", syscall.SIGTERM)
	return id
}

// TestShutdownEndsWaitingRequests: SIGTERM with a 300 s StopContainer, a
// never-ending ExecSync and an open GetContainerEvents stream in flight
// ends them at once with Unavailable, instead of the daemon waiting out its
// 10 s grace and cutting them; the container is neither killed nor lost.
func TestShutdownEndsWaitingRequests(t *testing.T) {
	e := newEnv(t, registry.Image{})
	id := stubborn(t, e, "drain")
	ctx := framework.Ctx(t)
	events, err := e.d.Runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Header(); err != nil {
		t.Fatal(err)
	}
	stopErr, execErr := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 300})
		stopErr <- err
	}()
	go func() {
		_, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "3011"}})
		execErr <- err
	}()
	e.d.WaitLog(`msg="Stopping container"`, 10*time.Second)
	waitProcess(t, "sleep 3011", true)

	e.d.Signal(syscall.SIGTERM)
	if code := e.d.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	_, evErr := events.Recv()
	for name, err := range map[string]error{"StopContainer": <-stopErr, "ExecSync": <-execErr, "GetContainerEvents": evErr} {
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "shutting down") {
			t.Errorf("%s in flight at shutdown: %v, want Unavailable (shutting down)", name, err)
		}
	}
	if strings.Contains(e.d.Logs(), "after the shutdown grace") {
		t.Errorf("shutdown waited out its grace:\n%s", e.d.Logs())
	}
	waitProcess(t, "sleep 3011", false) // the abandoned exec is killed

	// The stop was abandoned, not escalated: the container still runs, and
	// the next stop decides.
	e.d.Start()
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("after the restart: %v, want RUNNING", st.State)
	}
	if _, err := e.d.Runtime.StopContainer(framework.Ctx(t), &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("stopped: %v %d, want EXITED 137", st.State, st.ExitCode)
	}
}

// TestStopContainerAbandoned: a stop whose client gives up (the kubelet
// cancels it when a pod's grace period is shortened, then stops again with
// the shorter one) no longer holds the container until its old grace ends.
func TestStopContainerAbandoned(t *testing.T) {
	e := newEnv(t, registry.Image{})
	id := stubborn(t, e, "shortened")
	ctx, cancel := context.WithCancel(framework.Ctx(t))
	first := make(chan error, 1)
	go func() {
		_, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 300})
		first <- err
	}()
	e.d.WaitLog(`msg="Stopping container"`, 10*time.Second)
	cancel()
	<-first
	short, done := context.WithTimeout(context.Background(), 20*time.Second)
	defer done()
	if _, err := e.d.Runtime.StopContainer(short, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
		t.Fatalf("stop with the shorter grace: %v", err)
	}
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("stopped: %v %d, want EXITED 137", st.State, st.ExitCode)
	}
}

// waitProcess waits until a process whose command line is cmdline exists
// (or, with want false, none does).
func waitProcess(t *testing.T, cmdline string, want bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if found := exec.Command("pgrep", "-xf", cmdline).Run() == nil; found == want {
			return
		}
	}
	t.Fatalf("process %q present: want %v", cmdline, want)
}
