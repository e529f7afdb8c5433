package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"

	"github.com/crio-runtime/crio/test/framework"
)

// nriPlugin is a test NRI plugin run in-process with the nri stub package,
// connected to a daemon's NRI socket. It records every event it gets and
// lets a test answer CreateContainer, RunPodSandbox and StartContainer.
type nriPlugin struct {
	mu     sync.Mutex
	events []string // "<Event> <pod name>[/<container name>]"
	// syncPods and syncCtrs are the ids the Synchronize call listed.
	syncPods, syncCtrs []string
	synced             chan struct{}
	names              map[string]string // pod id -> pod name

	onCreate func(*api.PodSandbox, *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error)
	onRunPod func(*api.PodSandbox) error

	stub stub.Stub
}

// startNRIPlugin connects p to d as plugin <idx>-<name> and waits until it
// is synchronised.
func startNRIPlugin(t *testing.T, d *framework.Daemon, idx, name string, p *nriPlugin, opts ...stub.Option) *nriPlugin {
	t.Helper()
	p.synced, p.names = make(chan struct{}), map[string]string{}
	opts = append(opts, stub.WithSocketPath(d.NRISocket()), stub.WithPluginName(name), stub.WithPluginIdx(idx))
	s, err := stub.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.stub = s
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start NRI plugin: %v", err)
	}
	t.Cleanup(s.Stop)
	select {
	case <-p.synced:
	case <-time.After(30 * time.Second):
		t.Fatal("NRI plugin was never synchronised")
	}
	return p
}

func (p *nriPlugin) record(ev string, pod *api.PodSandbox, ctr *api.Container) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pod.GetName() != "" {
		p.names[pod.GetId()] = pod.GetName()
	}
	s := ev + " " + p.names[pod.GetId()]
	if ctr != nil {
		s += "/" + ctr.GetName()
	}
	p.events = append(p.events, s)
}

// Events returns the events recorded so far.
func (p *nriPlugin) Events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// waitEvent waits until ev was recorded.
func (p *nriPlugin) waitEvent(t *testing.T, ev string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Contains(p.Events(), ev) {
		if time.Now().After(deadline) {
			t.Fatalf("NRI event %q never came; got %v", ev, p.Events())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *nriPlugin) Synchronize(_ context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	p.mu.Lock()
	for _, pod := range pods {
		p.syncPods = append(p.syncPods, pod.Id)
		p.names[pod.Id] = pod.Name
	}
	for _, c := range ctrs {
		p.syncCtrs = append(p.syncCtrs, c.Id)
	}
	p.mu.Unlock()
	close(p.synced)
	return nil, nil
}

func (p *nriPlugin) RunPodSandbox(_ context.Context, pod *api.PodSandbox) error {
	p.record("RunPodSandbox", pod, nil)
	if p.onRunPod != nil {
		return p.onRunPod(pod)
	}
	return nil
}

func (p *nriPlugin) StopPodSandbox(_ context.Context, pod *api.PodSandbox) error {
	p.record("StopPodSandbox", pod, nil)
	return nil
}

func (p *nriPlugin) RemovePodSandbox(_ context.Context, pod *api.PodSandbox) error {
	p.record("RemovePodSandbox", pod, nil)
	return nil
}

func (p *nriPlugin) UpdatePodSandbox(_ context.Context, pod *api.PodSandbox, _, _ *api.LinuxResources) error {
	p.record("UpdatePodSandbox", pod, nil)
	return nil
}

func (p *nriPlugin) CreateContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	p.record("CreateContainer", pod, c)
	if p.onCreate != nil {
		return p.onCreate(pod, c)
	}
	return nil, nil, nil
}

func (p *nriPlugin) PostCreateContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) error {
	p.record("PostCreateContainer", pod, c)
	return nil
}

func (p *nriPlugin) StartContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) error {
	p.record("StartContainer", pod, c)
	return nil
}

func (p *nriPlugin) PostStartContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) error {
	p.record("PostStartContainer", pod, c)
	return nil
}

func (p *nriPlugin) UpdateContainer(_ context.Context, pod *api.PodSandbox, c *api.Container, _ *api.LinuxResources) ([]*api.ContainerUpdate, error) {
	p.record("UpdateContainer", pod, c)
	return nil, nil
}

func (p *nriPlugin) PostUpdateContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) error {
	p.record("PostUpdateContainer", pod, c)
	return nil
}

func (p *nriPlugin) StopContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) ([]*api.ContainerUpdate, error) {
	p.record("StopContainer", pod, c)
	return nil, nil
}

func (p *nriPlugin) RemoveContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) error {
	p.record("RemoveContainer", pod, c)
	return nil
}

// inOrder reports whether want appear in events in this order.
func inOrder(events, want []string) error {
	i := 0
	for _, e := range events {
		if i < len(want) && e == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("events %v lack %q in order %v", events, want[i], want)
	}
	return nil
}
