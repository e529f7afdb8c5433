package integration

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestNRIPluginFailureAndTimeoutLeaveNothing: a plugin that fails
// RunPodSandbox or CreateContainer fails that request and nothing of it is
// left (a retry with the same name works); a plugin that hangs fails the
// request at its timeout (its failure policy asks for that; by default NRI
// goes on without it), is dropped, and the daemon serves on.
func TestNRIPluginFailureAndTimeoutLeaveNothing(t *testing.T) {
	e := newEnvWith(t, registry.Image{}, framework.Options{DropIn: "[crio.nri]\nnri_plugin_request_timeout = \"2s\"\n"})
	ctx := framework.Ctx(t)
	var failing, hang atomic.Bool
	failing.Store(true)
	release := make(chan struct{})
	defer close(release)
	p := startNRIPlugin(t, e.d, "10", "fails", &nriPlugin{
		onRunPod: func(pod *api.PodSandbox) error {
			if failing.Load() {
				return errors.New("induced RunPodSandbox failure")
			}
			return nil
		},
		onCreate: func(_ *api.PodSandbox, c *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
			if hang.Load() {
				select { // past the request timeout
				case <-release:
				case <-time.After(20 * time.Second):
				}
			}
			if failing.Load() {
				return nil, nil, errors.New("induced CreateContainer failure")
			}
			return nil, nil, nil
		},
	}, stub.WithFailurePolicy(&api.FailurePolicy{FailRequest: true}))
	podCfg := framework.PodConfig("nri-fail")
	if _, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg}); err == nil {
		t.Fatal("RunPodSandbox succeeded though the plugin failed it")
	}
	if pods := e.listPods(t); len(pods) != 0 {
		t.Errorf("failed pod left behind: %v", pods)
	}
	failing.Store(false)
	podID, _ := runPod(t, e.d, podCfg) // same name: the failed one released it
	failing.Store(true)
	ccfg := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "600"}}
	create := func() (string, error) {
		r, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: ccfg, SandboxConfig: podCfg})
		return r.GetContainerId(), err
	}
	if _, err := create(); err == nil {
		t.Fatal("CreateContainer succeeded though the plugin failed it")
	}
	if n := e.countContainers(t); n != 0 {
		t.Errorf("failed container left behind: %d containers", n)
	}
	p.waitEvent(t, "RemoveContainer nri-fail/c") // the plugins were told it is gone
	failing.Store(false)
	hang.Store(true)
	if _, err := create(); err == nil {
		t.Fatal("CreateContainer succeeded though the plugin hung past its timeout")
	}
	if _, err := e.d.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("daemon after a hung plugin: %v", err)
	}
	if n := e.countContainers(t); n != 0 {
		t.Errorf("timed-out container left behind: %d containers", n)
	}
	// The hung plugin was dropped: creation works without it.
	id, err := create()
	if err != nil {
		t.Fatalf("create after the hung plugin was dropped: %v", err)
	}
	e.start(t, id)
}

func (e *env) countContainers(t *testing.T) int {
	t.Helper()
	r, err := e.d.Runtime.ListContainers(framework.Ctx(t), &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return len(r.Containers)
}

// TestNRIUnsolicitedUpdate: a plugin's unsolicited update of a running
// container reaches its cgroup and its status, by the path
// UpdateContainerResources takes.
func TestNRIUnsolicitedUpdate(t *testing.T) {
	requireCgroupV1Memory(t)
	e := newEnv(t, registry.Image{})
	p := startNRIPlugin(t, e.d, "10", "updater", &nriPlugin{})
	podID, podCfg := e.pod(t, "nri-update")
	id := e.create(t, podID, podCfg, "c", "sleep", "600")
	e.start(t, id)
	u := &api.ContainerUpdate{}
	u.SetContainerId(id)
	u.SetLinuxMemoryLimit(80 << 20)
	u.SetLinuxCPUShares(222)
	failed, err := p.stub.UpdateContainers([]*api.ContainerUpdate{u})
	if err != nil || len(failed) != 0 {
		t.Fatalf("UpdateContainers: failed %v, %v", failed, err)
	}
	if got := hostCgroup(t, "memory", id, "memory.limit_in_bytes"); got != strconv.Itoa(80<<20) {
		t.Errorf("memory limit %s after the plugin's update", got)
	}
	if got := hostCgroup(t, "cpu", id, "cpu.shares"); got != "222" {
		t.Errorf("cpu shares %s after the plugin's update", got)
	}
	if r := e.status(t, id).GetResources().GetLinux(); r.GetMemoryLimitInBytes() != 80<<20 || r.GetCpuShares() != 222 {
		t.Errorf("status resources after the plugin's update: %+v", r)
	}
	// An update of an unknown container is reported failed.
	bad := &api.ContainerUpdate{}
	bad.SetContainerId("no-such-container")
	bad.SetLinuxCPUShares(100)
	if failed, _ := p.stub.UpdateContainers([]*api.ContainerUpdate{bad}); len(failed) != 1 {
		t.Errorf("update of an unknown container: failed %v", failed)
	}
}
