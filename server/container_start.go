package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StartContainer runs a created container's process.
func (s *Server) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	s.containers.LogLifecycle(ctx, "Starting container", req.ContainerId)
	if err := s.nriStart(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	if err := s.containers.Start(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	s.nriPostStart(ctx, req.ContainerId)
	s.containers.LogLifecycle(ctx, "Started container", req.ContainerId)
	return &runtimeapi.StartContainerResponse{}, nil
}
