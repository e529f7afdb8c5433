package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// CreateContainer creates a container in a ready pod.
func (s *Server) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	c, err := s.containers.Create(ctx, req.PodSandboxId, req.Config, req.SandboxConfig)
	if err != nil {
		return nil, err
	}
	logging.From(ctx).Info("container created", "container", c.ID, "name", c.Metadata().Name, "pod", c.PodID)
	return &runtimeapi.CreateContainerResponse{ContainerId: c.ID}, nil
}
