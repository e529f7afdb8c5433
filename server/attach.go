package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/streaming"
)

// Attach returns a single-use streaming URL connected to a running
// container's stdio.
func (s *Server) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	st := s.stream()
	if st == nil {
		return nil, streamingUnavailable()
	}
	if err := checkRunning(st, req.ContainerId); err != nil {
		return nil, err
	}
	return st.GetAttach(req)
}

// checkRunning fails with NotFound or FailedPrecondition unless the
// container is running.
func checkRunning(st *streaming.Server, id string) error {
	c := st.Containers()
	if c == nil {
		return errdefs.NotFound("container %q not found", id)
	}
	return c.CheckRunning(id)
}
