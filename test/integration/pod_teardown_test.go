package integration

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// RemovePodSandbox answers once the pod is gone from every view and leaves
// the runtime's deletes and the pod's files to a background reap; these
// tests crash the daemon in those reaps and check the next start finishes
// them.

// podWithContainer runs a pod sharing one PID namespace (so it has an
// infra process) with one running container, as critest's "start a
// container from scratch" does.
func podWithContainer(t *testing.T, e *env, name string) (string, string, *runtimeapi.PodSandboxConfig, *runtimeapi.PodSandboxStatus) {
	t.Helper()
	cfg := sharedPIDPod(name)
	id, st := runPod(t, e.d, cfg)
	ctr := e.create(t, id, cfg, "c", "sleep", "300")
	e.start(t, ctr)
	return id, ctr, cfg, st
}

// checkPodGone checks a removed pod left no pin, IP, mount or file of its
// own (checkNoLeftovers checks the runtime's side).
func checkPodGone(t *testing.T, d *framework.Daemon, id string, st *runtimeapi.PodSandboxStatus) {
	t.Helper()
	for _, kind := range []string{"netns", "ipcns", "utsns", "pidns"} {
		if _, err := os.Stat(filepath.Join(d.NamespacesDir(), kind, id)); !os.IsNotExist(err) {
			t.Errorf("%s pin left: %v", kind, err)
		}
	}
	if _, err := os.Stat(filepath.Join(d.IPAMDir(), d.Network(), st.Network.Ip)); !os.IsNotExist(err) {
		t.Errorf("IP allocation left: %v", err)
	}
	if m := framework.MountsUnder(filepath.Join(d.Dir, "run", "storage", "crio", "pods", id)); len(m) != 0 {
		t.Errorf("mounts of the pod left: %v", m)
	}
}

// TestRemovePodSandboxAnswersBeforeItsReap: right after RemovePodSandbox
// the pod and its container are in no list, its name runs a new pod at
// once, its shm is unmounted and its IP and pins released; the shutdown
// waits for the background cleanup, which leaves nothing.
func TestRemovePodSandboxAnswersBeforeItsReap(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	id, ctr, cfg, st := podWithContainer(t, e, "teardown")
	mons := monitorsOf(t, e.d, []string{id, ctr})
	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	pods, err := e.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods after remove: %v %v", pods, err)
	}
	ctrs, err := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(ctrs.Containers) != 0 {
		t.Errorf("containers after remove: %v %v", ctrs, err)
	}
	checkPodGone(t, e.d, id, st)
	next, _ := runPod(t, e.d, cfg)
	if next == id {
		t.Fatal("the same pod id again")
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: next}); err != nil {
		t.Fatal(err)
	}
	e.d.Stop() // waits for the reaps
	checkNoLeftovers(t, e.d, []string{id, ctr, next}, mons, true)
}

// TestCrashDuringPodReap: a daemon killed after RemovePodSandbox deleted
// the records but before the pod's files went leaves a pod dir no record
// owns; the next start removes it, and the pod stays removed.
func TestCrashDuringPodReap(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	armFault(e.d, "pod-reap")
	id, ctr, cfg, st := podWithContainer(t, e, "podreap")
	mons := monitorsOf(t, e.d, []string{id, ctr})
	// The daemon may die before or after it answers.
	_, _ = e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
	if code := e.d.Wait(30 * time.Second); code == 0 {
		t.Fatal("the daemon exited cleanly; it was to crash in the pod's reap")
	}
	dir := filepath.Join(e.d.Dir, "run", "storage", "crio", "pods", id)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("pod dir already gone at the crash: %v", err)
	}
	e.d.SetEnv()
	e.d.Start()
	pods, err := e.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods after restart: %v %v", pods, err)
	}
	checkNoLeftovers(t, e.d, []string{id, ctr}, mons, true)
	checkPodGone(t, e.d, id, st)
	next, _ := runPod(t, e.d, cfg)
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: next}); err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringInfraReap: a daemon killed after StopPodSandbox ended the
// infra but before the runtime deleted it leaves a stopped runtime
// container of a pod that is still recorded (NOTREADY); the next start
// deletes it (its cgroup with it), and the pod is then removed as usual.
func TestCrashDuringInfraReap(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	armFault(e.d, "infra-reap")
	id, ctr, _, st := podWithContainer(t, e, "infrareap")
	mons := monitorsOf(t, e.d, []string{id, ctr})
	_, _ = e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	if code := e.d.Wait(30 * time.Second); code == 0 {
		t.Fatal("the daemon exited cleanly; it was to crash in the infra's reap")
	}
	if !slices.Contains(runcList(t, e.d), id) {
		t.Fatalf("the infra's runtime container already gone at the crash")
	}
	e.d.SetEnv()
	e.d.Start()
	if l := runcList(t, e.d); slices.Contains(l, id) {
		t.Errorf("the stopped infra's runtime container left after restart: %v", l)
	}
	got, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || got.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("pod after restart: %v %v", got, err)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	checkPodGone(t, e.d, id, st)
	e.d.Stop()
	checkNoLeftovers(t, e.d, []string{id, ctr}, mons, true)
}
