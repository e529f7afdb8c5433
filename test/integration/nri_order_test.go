package integration

import (
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestNRIHookHidesPodAndContainer: while a plugin holds RunPodSandbox the
// pod is neither listed nor usable for a container; while it holds
// CreateContainer the container is not listed.
func TestNRIHookHidesPodAndContainer(t *testing.T) {
	e := newEnvWith(t, registry.Image{}, framework.Options{DropIn: "[crio.nri]\nnri_plugin_request_timeout = \"20s\"\n"})
	ctx := framework.Ctx(t)
	podHeld, ctrHeld := make(chan string, 1), make(chan string, 1)
	release := make(chan struct{})
	startNRIPlugin(t, e.d, "10", "holds", &nriPlugin{
		onRunPod: func(pod *api.PodSandbox) error {
			podHeld <- pod.Id
			<-release
			return nil
		},
		onCreate: func(_ *api.PodSandbox, c *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
			ctrHeld <- c.Id
			<-release
			return nil, nil, nil
		},
	})
	podCfg := framework.PodConfig("nri-held")
	runErr := make(chan error, 1)
	go func() {
		_, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg})
		runErr <- err
	}()
	podID := waitHeld(t, podHeld)
	for _, p := range e.listPods(t) {
		if p == podID {
			t.Errorf("pod %s listed while its RunPodSandbox hook runs", podID)
		}
	}
	if _, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID}); err == nil {
		t.Errorf("pod %s has a status while its RunPodSandbox hook runs", podID)
	}
	ccfg := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "600"}}
	if _, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: ccfg, SandboxConfig: podCfg}); err == nil {
		t.Error("a container was created in a pod whose RunPodSandbox hook runs")
	}
	release <- struct{}{}
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	createErr := make(chan error, 1)
	go func() {
		_, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: ccfg, SandboxConfig: podCfg})
		createErr <- err
	}()
	ctrID := waitHeld(t, ctrHeld)
	if n := e.countContainers(t); n != 0 {
		t.Errorf("%d containers listed while the CreateContainer hook of %s runs", n, ctrID)
	}
	if _, err := e.d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrID}); err == nil {
		t.Errorf("container %s has a status while its CreateContainer hook runs", ctrID)
	}
	release <- struct{}{}
	if err := <-createErr; err != nil {
		t.Fatal(err)
	}
	if n := e.countContainers(t); n != 1 {
		t.Errorf("%d containers after the hook ended, want 1", n)
	}
}

func waitHeld(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case id := <-ch:
		return id
	case <-time.After(30 * time.Second):
		t.Fatal("the NRI hook never ran")
		return ""
	}
}
