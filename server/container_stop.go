package server

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StopContainer stops a container within the timeout, then kills it.
// Unknown or already stopped containers succeed.
func (s *Server) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	if req.ContainerId == "" {
		return nil, status.Error(codes.InvalidArgument, "container_id is required")
	}
	if req.Timeout < 0 {
		return nil, status.Error(codes.InvalidArgument, "timeout must not be negative")
	}
	s.logContainer(ctx, "Stopping container", req.ContainerId, "timeout", req.Timeout)
	if err := s.containers.Stop(ctx, req.ContainerId, time.Duration(req.Timeout)*time.Second); err != nil {
		return nil, err
	}
	s.nriStopped(ctx, req.ContainerId)
	s.logContainer(ctx, "Stopped container", req.ContainerId)
	return &runtimeapi.StopContainerResponse{}, nil
}
