package server

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StopContainer stops a container within the timeout, then kills it.
// Unknown or already stopped containers succeed.
func (s *Server) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	s.containers.LogLifecycle(ctx, "Stopping container", req.ContainerId, "timeout", req.Timeout)
	if err := s.containers.Stop(ctx, req.ContainerId, time.Duration(req.Timeout)*time.Second); err != nil {
		return nil, err
	}
	s.nriStopped(ctx, req.ContainerId)
	s.containers.LogLifecycle(ctx, "Stopped container", req.ContainerId)
	return &runtimeapi.StopContainerResponse{}, nil
}
