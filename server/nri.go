package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/sandbox"
)

// The NRI hook points of the RPC handlers (internal/nri does the work).
// Each is a no-op when NRI is off.

// nriDomain is what NRI sees of the server: the published pods and
// containers, and the update and stop paths of the CRI.
type nriDomain struct{ s *Server }

func (d nriDomain) Pods() []*sandbox.Sandbox               { return d.s.pods.List() }
func (d nriDomain) Containers() []*container.Container     { return d.s.containers.Snapshot() }
func (d nriDomain) Pod(id string) (*sandbox.Sandbox, bool) { return d.s.pods.Lookup(id) }

func (d nriDomain) UpdateContainer(ctx context.Context, id string, r *runtimeapi.LinuxContainerResources) error {
	if err := d.s.checkMemoryDecrease(id, r.GetMemoryLimitInBytes()); err != nil {
		return err
	}
	return d.s.containers.UpdateResources(ctx, id, r)
}

func (d nriDomain) CDISpecDirs() []string { return d.s.Config().Crio.Runtime.CDISpecDirs }

func (d nriDomain) EvictContainer(ctx context.Context, id, reason string) error {
	logging.From(ctx).Info("Evicting container for an NRI plugin", "container", id, "reason", reason)
	if err := d.s.containers.Stop(ctx, id, 0); err != nil {
		return err
	}
	d.s.nriStopped(ctx, id)
	return nil
}

// nriRunPod relays RunPodSandbox for a pod not yet published; on a plugin's
// error the pod is discarded and the plugins told it is gone.
func (s *Server) nriRunPod(ctx context.Context, sb *sandbox.Sandbox) error {
	err := s.nri.RunPodSandbox(ctx, sb)
	if err != nil {
		_ = s.discardUnclaimedPod(context.WithoutCancel(ctx), sb.ID)
	}
	return err
}

// nriStopPod stops the containers of a ready pod and relays StopPodSandbox,
// before the pod itself stops; a stopped pod is not relayed again.
func (s *Server) nriStopPod(ctx context.Context, podID string) error {
	if !s.nri.Enabled() {
		return nil
	}
	sb, err := s.pods.Get(podID)
	if err != nil || !sb.IsReady() {
		return nil
	}
	for _, c := range s.podContainers(sb.ID) {
		if err := s.containers.Stop(ctx, c.ID, 0); err != nil {
			return err
		}
		s.nri.StopContainer(ctx, c)
	}
	return s.nri.StopPodSandbox(ctx, sb)
}

// nriRemovedPod relays the removal of a pod's containers and of the pod.
func (s *Server) nriRemovedPod(ctx context.Context, sb *sandbox.Sandbox, ctrs []*container.Container) {
	for _, c := range ctrs {
		s.nri.RemoveContainer(ctx, c)
	}
	s.nri.RemovePodSandbox(ctx, sb)
}

func (s *Server) podContainers(podID string) []*container.Container {
	var out []*container.Container
	for _, c := range s.containers.Snapshot() {
		if c.PodID == podID {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) nriPostCreate(ctx context.Context, id string) {
	if c, err := s.containers.Get(id); err == nil {
		s.nri.PostCreateContainer(ctx, c)
	}
}

func (s *Server) nriStart(ctx context.Context, id string) error {
	c, err := s.containers.Get(id)
	if err != nil {
		return nil // Start answers NotFound
	}
	return s.nri.StartContainer(ctx, c)
}

func (s *Server) nriPostStart(ctx context.Context, id string) {
	if c, err := s.containers.Get(id); err == nil {
		s.nri.PostStartContainer(ctx, c)
	}
}

// nriStopped relays StopContainer once the container has exited.
func (s *Server) nriStopped(ctx context.Context, id string) {
	if c, err := s.containers.Get(id); err == nil && c.Status().Exited {
		s.nri.StopContainer(ctx, c)
	}
}

// nriExited relays the stop of a container that exited on its own, off
// the events loop: a slow plugin must not hold events back.
func (s *Server) nriExited(id string) {
	if s.nri.Enabled() {
		go s.nriStopped(context.Background(), id)
	}
}

// nriUpdate asks the plugins about new resources; it returns what to apply.
func (s *Server) nriUpdate(ctx context.Context, id string, r *runtimeapi.LinuxContainerResources) (*runtimeapi.LinuxContainerResources, error) {
	c, err := s.containers.Get(id)
	if err != nil {
		return r, nil // the update answers NotFound
	}
	return s.nri.UpdateContainer(ctx, c, r)
}

func (s *Server) nriPostUpdate(ctx context.Context, id string) {
	if c, err := s.containers.Get(id); err == nil {
		s.nri.PostUpdateContainer(ctx, c)
	}
}

// discardUnclaimedPod removes a pod no client got (a plugin failed it, or
// no repeated request claimed it: create_retry.go); the plugins saw it
// run, so they hear it is gone.
func (s *Server) discardUnclaimedPod(ctx context.Context, id string) error {
	sb, ok := s.pods.Lookup(id)
	if err := s.discardPod(ctx, id); err != nil {
		return err
	}
	if ok {
		_ = s.nri.StopPodSandbox(ctx, sb)
		s.nri.RemovePodSandbox(ctx, sb)
	}
	return nil
}

// discardUnclaimedContainer is discardUnclaimedPod for a container.
func (s *Server) discardUnclaimedContainer(ctx context.Context, id string) error {
	c, ok := s.containers.Lookup(id)
	if err := s.containers.Discard(ctx, id); err != nil {
		return err
	}
	if ok {
		s.nri.RemoveContainer(ctx, c)
	}
	return nil
}
