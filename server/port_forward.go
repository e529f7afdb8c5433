package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PortForward returns a single-use streaming URL that forwards TCP
// connections to ports on localhost inside the pod's network namespace.
func (s *Server) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	st := s.stream()
	if st == nil {
		return nil, streamingUnavailable()
	}
	sb, err := s.pods.GetReady(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	// The URL carries the full id: a prefix could become ambiguous later.
	return st.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: sb.ID, Port: req.Port})
}
