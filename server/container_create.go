package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/pending"
)

// CreateContainer creates a container in a ready pod. The creation
// outlives a client that gives up: the kubelet's repeat of the same request
// gets its container (see internal/pending).
func (s *Server) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	log := logging.From(ctx)
	log.InfoContext(ctx, "Creating container", "name", req.GetConfig().GetMetadata().GetName(),
		"pod", req.PodSandboxId, "podName", req.GetSandboxConfig().GetMetadata().GetName())
	cname := pending.ContainerName(req.PodSandboxId, req.GetConfig().GetMetadata())
	defer s.nri.BlockSync()() // a plugin syncing now sees this container or its events
	id, repeat, err := s.creations().Containers.Do(ctx, cname, pending.RequestDigest(req), func(ctx context.Context, stage func(string)) (string, error) {
		stage("container creating")
		c, err := s.containers.Create(ctx, req.PodSandboxId, req.Config, req.SandboxConfig)
		if err != nil {
			return "", err
		}
		if sb, err := s.pods.Get(c.PodID); err == nil {
			s.links().LinkContainer(ctx, sb, c.ID, c.LogPath)
		}
		log.InfoContext(ctx, "Created container", "container", c.ID, "name", c.Metadata().GetName(), "pod", c.PodID)
		return c.ID, nil
	})
	if err != nil {
		return nil, pending.CreateError(err, "container", cname)
	}
	s.containers.Publish(id)
	s.nriPostCreate(ctx, id)
	if repeat {
		log.InfoContext(ctx, "Handing out the container an earlier request created", "container", id, "name", cname)
	}
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}
