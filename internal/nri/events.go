package nri

import (
	"context"
	"fmt"

	api "github.com/containerd/nri/pkg/adaptation"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
)

// The pod events. A plugin's error fails the request it was asked about;
// the caller undoes what the request did.

// RunPodSandbox tells the plugins of a new pod, before it is published.
func (a *API) RunPodSandbox(ctx context.Context, sb *sandbox.Sandbox) error {
	ad := a.current()
	if ad == nil {
		return nil
	}
	if err := ad.RunPodSandbox(ctx, &api.RunPodSandboxRequest{Pod: podToNRI(sb)}); err != nil {
		return fmt.Errorf("NRI RunPodSandbox: %w", err)
	}
	return nil
}

// StopPodSandbox tells the plugins a pod stops; its containers have stopped.
func (a *API) StopPodSandbox(ctx context.Context, sb *sandbox.Sandbox) error {
	ad := a.current()
	if ad == nil {
		return nil
	}
	if err := ad.StopPodSandbox(ctx, &api.StopPodSandboxRequest{Pod: podToNRI(sb)}); err != nil {
		return fmt.Errorf("NRI StopPodSandbox: %w", err)
	}
	return nil
}

// RemovePodSandbox tells the plugins a pod is gone. The pod is removed
// already, so a plugin's error is only logged.
func (a *API) RemovePodSandbox(ctx context.Context, sb *sandbox.Sandbox) {
	ad := a.current()
	if ad == nil {
		return
	}
	if err := ad.RemovePodSandbox(ctx, &api.RemovePodSandboxRequest{Pod: podToNRI(sb)}); err != nil {
		a.log.Warn("NRI RemovePodSandbox", "pod", sb.ID, "error", err)
	}
}

// UpdatePodSandbox tells the plugins of new pod resources before they apply.
func (a *API) UpdatePodSandbox(ctx context.Context, sb *sandbox.Sandbox, overhead, res *runtimeapi.LinuxContainerResources) error {
	ad := a.current()
	if ad == nil {
		return nil
	}
	req := &api.UpdatePodSandboxRequest{Pod: podToNRI(sb), OverheadLinuxResources: criToNRI(overhead), LinuxResources: criToNRI(res)}
	if _, err := ad.UpdatePodSandbox(ctx, req); err != nil {
		return fmt.Errorf("NRI UpdatePodSandbox: %w", err)
	}
	if err := ad.PostUpdatePodSandbox(ctx, &api.PostUpdatePodSandboxRequest{Pod: podToNRI(sb)}); err != nil {
		a.log.Warn("NRI PostUpdatePodSandbox", "pod", sb.ID, "error", err)
	}
	return nil
}

// The container events.

func (a *API) pod(id string) *api.PodSandbox {
	if sb, ok := a.dom.Pod(id); ok {
		return podToNRI(sb)
	}
	return &api.PodSandbox{Id: id}
}

// PostCreateContainer tells the plugins a container was created.
func (a *API) PostCreateContainer(ctx context.Context, c *container.Container) {
	if ad := a.current(); ad != nil {
		req := &api.PostCreateContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec())}
		if err := ad.PostCreateContainer(ctx, req); err != nil {
			a.log.Warn("NRI PostCreateContainer", "container", c.ID, "error", err)
		}
	}
}

// StartContainer tells the plugins a container is about to start; an error
// fails the start.
func (a *API) StartContainer(ctx context.Context, c *container.Container) error {
	ad := a.current()
	if ad == nil {
		return nil
	}
	if err := ad.StartContainer(ctx, &api.StartContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec())}); err != nil {
		return fmt.Errorf("NRI StartContainer: %w", err)
	}
	return nil
}

// PostStartContainer tells the plugins a container started.
func (a *API) PostStartContainer(ctx context.Context, c *container.Container) {
	if ad := a.current(); ad != nil {
		req := &api.PostStartContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec())}
		if err := ad.PostStartContainer(ctx, req); err != nil {
			a.log.Warn("NRI PostStartContainer", "container", c.ID, "error", err)
		}
	}
}

// UpdateContainer asks the plugins about new resources of a container and
// returns the resources to apply (theirs, if they changed them). Updates
// of other containers they ask for are applied here.
func (a *API) UpdateContainer(ctx context.Context, c *container.Container, r *runtimeapi.LinuxContainerResources) (*runtimeapi.LinuxContainerResources, error) {
	ad := a.current()
	if ad == nil || r == nil {
		return r, nil
	}
	req := &api.UpdateContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec()), LinuxResources: criToNRI(r)}
	rpl, err := ad.UpdateContainer(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("NRI UpdateContainer: %w", err)
	}
	var others []*api.ContainerUpdate
	for _, u := range rpl.GetUpdate() {
		if u == nil {
			continue // the library lists the asked-about container even when no plugin changed it
		}
		if u.ContainerId == c.ID {
			if nr := u.GetLinux().GetResources(); nr != nil {
				r = mergeCRI(r, nriToCRI(nr))
			}
			continue
		}
		others = append(others, u)
	}
	a.applyUpdates(ctx, others)
	a.applyEvictions(ctx, rpl.GetEvict())
	return r, nil
}

// PostUpdateContainer tells the plugins a container's resources changed.
func (a *API) PostUpdateContainer(ctx context.Context, c *container.Container) {
	if ad := a.current(); ad != nil {
		req := &api.PostUpdateContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec())}
		if err := ad.PostUpdateContainer(ctx, req); err != nil {
			a.log.Warn("NRI PostUpdateContainer", "container", c.ID, "error", err)
		}
	}
}

// StopContainer tells the plugins once that a container stopped, however it
// stopped (StopContainer, its pod's stop, its own exit). A later call for
// the same container waits for the first to finish.
func (a *API) StopContainer(ctx context.Context, c *container.Container) {
	if a.current() == nil {
		return
	}
	a.mu.Lock()
	done, seen := a.stops[c.ID]
	if !seen {
		done = make(chan struct{})
		a.stops[c.ID] = done
	}
	a.mu.Unlock()
	if seen {
		select {
		case <-done:
		case <-ctx.Done():
		}
		return
	}
	defer close(done)
	req := &api.StopContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec())}
	rpl, err := a.current().StopContainer(ctx, req)
	if err != nil {
		a.log.Warn("NRI StopContainer", "container", c.ID, "error", err)
		return
	}
	a.applyUpdates(ctx, rpl.GetUpdate())
}

// RemoveContainer tells the plugins a container is gone (after its stop).
func (a *API) RemoveContainer(ctx context.Context, c *container.Container) {
	if a.current() == nil {
		return
	}
	a.StopContainer(ctx, c)
	req := &api.RemoveContainerRequest{Pod: a.pod(c.PodID), Container: ctrToNRI(c, c.Spec())}
	if err := a.current().RemoveContainer(ctx, req); err != nil {
		a.log.Warn("NRI RemoveContainer", "container", c.ID, "error", err)
	}
	a.mu.Lock()
	delete(a.stops, c.ID)
	a.mu.Unlock()
}

// mergeCRI overlays the fields set in top onto base.
func mergeCRI(base, top *runtimeapi.LinuxContainerResources) *runtimeapi.LinuxContainerResources {
	out := proto.Clone(base).(*runtimeapi.LinuxContainerResources)
	if top.CpuShares != 0 {
		out.CpuShares = top.CpuShares
	}
	if top.CpuQuota != 0 {
		out.CpuQuota = top.CpuQuota
	}
	if top.CpuPeriod != 0 {
		out.CpuPeriod = top.CpuPeriod
	}
	if top.CpusetCpus != "" {
		out.CpusetCpus = top.CpusetCpus
	}
	if top.CpusetMems != "" {
		out.CpusetMems = top.CpusetMems
	}
	if top.MemoryLimitInBytes != 0 {
		out.MemoryLimitInBytes = top.MemoryLimitInBytes
	}
	if top.MemorySwapLimitInBytes != 0 {
		out.MemorySwapLimitInBytes = top.MemorySwapLimitInBytes
	}
	if len(top.HugepageLimits) > 0 {
		out.HugepageLimits = top.HugepageLimits
	}
	if len(top.Unified) > 0 {
		out.Unified = top.Unified
	}
	return out
}
