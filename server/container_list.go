package server

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
)

// ListContainers lists containers matching the filter.
func (s *Server) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	return &runtimeapi.ListContainersResponse{Containers: s.listContainers(req.GetFilter())}, nil
}

func (s *Server) listContainers(f *runtimeapi.ContainerFilter) []*runtimeapi.Container {
	var out []*runtimeapi.Container
	for _, c := range s.containers.Snapshot() {
		if !containerMatches(c, f) {
			continue
		}
		cfg := c.Config
		out = append(out, &runtimeapi.Container{
			Id: c.ID, PodSandboxId: c.PodID, Metadata: c.Metadata(), State: c.State(), CreatedAt: c.CreatedAt,
			Image:    &runtimeapi.ImageSpec{Image: listImage(c), UserSpecifiedImage: cfg.GetImage().GetUserSpecifiedImage()},
			ImageRef: c.ImageRef, ImageId: c.ImageID, Labels: cfg.Labels, Annotations: cfg.Annotations,
		})
	}
	return out
}

func containerMatches(c *container.Container, f *runtimeapi.ContainerFilter) bool {
	if f == nil {
		return true
	}
	if f.Id != "" && !strings.HasPrefix(c.ID, f.Id) {
		return false
	}
	if f.PodSandboxId != "" && !strings.HasPrefix(c.PodID, f.PodSandboxId) {
		return false
	}
	if f.State != nil && f.State.State != c.State() {
		return false
	}
	return labelsMatch(c.Config.Labels, f.LabelSelector)
}

// listImage is the image a container was asked for, which CRI-O lists (its
// status reports the image's own name instead); records from before the
// request was kept fall back to that name.
func listImage(c *container.Container) string {
	if img := c.Config.GetImage().GetImage(); img != "" {
		return img
	}
	return c.ImageName
}
