package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StartContainer runs a created container's process.
func (s *Server) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	if req.ContainerId == "" {
		return nil, status.Error(codes.InvalidArgument, "container_id is required")
	}
	s.logContainer(ctx, "Starting container", req.ContainerId)
	if err := s.nriStart(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	if err := s.containers.Start(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	s.nriPostStart(ctx, req.ContainerId)
	s.logContainer(ctx, "Started container", req.ContainerId)
	return &runtimeapi.StartContainerResponse{}, nil
}
