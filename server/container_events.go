package server

import (
	"context"
	"time"

	"google.golang.org/grpc/metadata"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/events"
	"github.com/crio-runtime/crio/internal/logging"
)

// GetContainerEvents streams container lifecycle events, each with the
// pod's status and its containers' statuses (what Evented PLEG reads),
// until the client goes away. A subscriber that falls behind loses events
// (counted) rather than slowing the daemon or other subscribers.
func (s *Server) GetContainerEvents(req *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	o := s.obs()
	sub := o.broker.Subscribe()
	defer sub.Close()
	ctx := stream.Context()
	log := logging.From(ctx)
	// Headers go out once subscribed: a client that waits for them knows no
	// later event will be missed (gRPC otherwise starts the handler lazily).
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			if n := sub.Dropped(); n > 0 {
				log.Warn("container events subscriber fell behind", "dropped", n)
			}
			return nil
		case ev, ok := <-sub.Events():
			if !ok {
				return nil
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}

// runEvents diffs the containers whenever kicked (ContainerChanged) and
// at least every eventPoll, and publishes the changes.
func (s *Server) runEvents(ctx context.Context, o *observability) {
	t := time.NewTicker(eventPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.probeMonitors(o)
		case <-o.kick:
		}
		s.publishChanges(o)
	}
}

// containerStates lists the pods (a pod is started once it exists, as
// RunPodSandbox returns it ready, and stopped once not ready) and the
// containers, for the tracker.
func (s *Server) containerStates() []events.State {
	pods, snap := s.pods.List(), s.containers.Snapshot()
	out := make([]events.State, 0, len(pods)+len(snap))
	meta := make(map[string]*runtimeapi.PodSandboxMetadata, len(pods))
	for _, sb := range pods {
		meta[sb.ID] = sb.Metadata()
		out = append(out, events.State{
			ID: sb.ID, PodID: sb.ID, Sandbox: true, PodMeta: sb.Metadata(),
			Started: true, Exited: sb.State() != runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: sb.CreatedAt,
		})
	}
	for _, c := range snap {
		cs := c.Status()
		out = append(out, events.State{
			ID: c.ID, PodID: c.PodID, PodMeta: meta[c.PodID], Started: cs.Started, Exited: cs.Exited,
			CreatedAt: c.CreatedAt, StartedAt: cs.StartedAt, FinishedAt: cs.FinishedAt,
		})
	}
	return out
}

func (s *Server) publishChanges(o *observability) {
	o.publishMu.Lock()
	defer o.publishMu.Unlock()
	changes := o.tracker.Diff(s.containerStates(), time.Now())
	for _, ch := range changes {
		switch {
		case ch.Sandbox: // pods feed no container metric
		case ch.Type == runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT:
			o.metrics.ContainerStarted()
		case ch.Type == runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT:
			oom, name := false, ""
			if c, err := s.containers.Get(ch.ID); err == nil {
				oom, name = c.Status().OOMKilled, c.Metadata().Name
			}
			o.metrics.ContainerExited(name, oom)
			s.nriExited(ch.ID)
		}
		if o.broker.Subscribers() > 0 {
			o.broker.Publish(s.containerEvent(ch))
		}
	}
}

// containerEvent is the CRI event for a change of a container or a pod
// (then ContainerId is the pod's id, as containerd sends it), with the
// pod's current status and the statuses of its containers.
func (s *Server) containerEvent(ch events.Change) *runtimeapi.ContainerEventResponse {
	ev := &runtimeapi.ContainerEventResponse{ContainerId: ch.ID, ContainerEventType: ch.Type, CreatedAt: ch.At}
	if sb, err := s.pods.Get(ch.PodID); err == nil {
		ev.PodSandboxStatus = podStatus(sb)
	} else {
		// The pod is gone: report it so, with the metadata the kubelet
		// reads the pod's UID from.
		ev.PodSandboxStatus = &runtimeapi.PodSandboxStatus{Id: ch.PodID, Metadata: ch.PodMeta, State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}
	}
	for _, c := range s.containers.Snapshot() {
		if c.PodID == ch.PodID {
			ev.ContainersStatuses = append(ev.ContainersStatuses, containerStatus(c))
		}
	}
	return ev
}
