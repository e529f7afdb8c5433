package server

import (
	"google.golang.org/grpc/metadata"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// GetContainerEvents streams container lifecycle events, each with the
// pod's status and its containers' statuses (what Evented PLEG reads),
// until the client goes away. A subscriber that falls behind loses events
// (counted) rather than slowing the daemon or other subscribers.
func (s *Server) GetContainerEvents(req *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	o := s.obs()
	sub := o.Events().Subscribe()
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
