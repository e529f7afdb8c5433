package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Exec returns a single-use streaming URL that runs the command in a
// running container.
func (s *Server) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	st := s.stream()
	if st == nil {
		return nil, streamingUnavailable()
	}
	if err := checkRunning(st, req.ContainerId); err != nil {
		return nil, err
	}
	return st.GetExec(req)
}
