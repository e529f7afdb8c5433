package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// CreateContainer creates a container in a ready pod.
func (s *Server) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	logging.From(ctx).InfoContext(ctx, "Creating container", "name", req.GetConfig().GetMetadata().GetName(),
		"pod", req.PodSandboxId, "podName", req.GetSandboxConfig().GetMetadata().GetName())
	cname := containerCreationName(req.PodSandboxId, req.GetConfig().GetMetadata())
	cr, end := s.obs().creating.begin(cname, "container creating")
	defer end()
	c, err := s.containers.Create(ctx, req.PodSandboxId, req.Config, req.SandboxConfig)
	if err != nil {
		s.countStalled(ctx, "container", cname, cr, err)
		return nil, err
	}
	if sb, err := s.pods.Get(c.PodID); err == nil {
		s.linkContainerLog(ctx, sb, c.ID, c.LogPath)
	}
	s.logContainer(ctx, "Created container", c.ID)
	return &runtimeapi.CreateContainerResponse{ContainerId: c.ID}, nil
}
