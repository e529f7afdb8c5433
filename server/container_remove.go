package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// RemoveContainer kills the container if needed and removes it. Unknown ids succeed.
func (s *Server) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	s.containers.LogLifecycle(ctx, "Removing container", req.ContainerId)
	c, _ := s.containers.Get(req.ContainerId) // for the last line: gone after Remove
	if err := s.containers.Remove(ctx, req.ContainerId); err != nil {
		return nil, err
	}
	if c != nil {
		s.nri.RemoveContainer(ctx, c)
		s.obs().Metrics().ContainerRemoved(c.Metadata().GetName(), c.Status().OOMKilled)
		logging.From(ctx).InfoContext(ctx, "Removed container", "container", c.ID, "name", c.Metadata().GetName(), "pod", c.PodID)
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}
