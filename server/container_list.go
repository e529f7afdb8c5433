package server

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
)

// ListContainers lists containers matching the filter. Each entry but its
// state is encoded once per container (see list_encoding.go).
func (s *Server) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f := req.GetFilter()
	buf, ok := s.ctrEntries.encode(s.containers.Snapshot(), listing[*container.Container]{
		field: containersField, stateField: containerState,
		matches: func(c *container.Container) bool { return containerMatches(c, f) },
		item:    func(c *container.Container) proto.Message { return containerItem(c, 0) },
		state:   func(c *container.Container) int32 { return int32(c.State()) },
	})
	if !ok {
		return &runtimeapi.ListContainersResponse{Containers: s.listContainers(f)}, nil
	}
	resp := &runtimeapi.ListContainersResponse{}
	resp.ProtoReflect().SetUnknown(buf)
	return resp, nil
}

// listContainers is the filter's containers as messages.
func (s *Server) listContainers(f *runtimeapi.ContainerFilter) []*runtimeapi.Container {
	var out []*runtimeapi.Container
	for _, c := range s.containers.Snapshot() {
		if containerMatches(c, f) {
			out = append(out, containerItem(c, c.State()))
		}
	}
	return out
}

// containerItem is c's list entry.
func containerItem(c *container.Container, state runtimeapi.ContainerState) *runtimeapi.Container {
	cfg := c.Config
	return &runtimeapi.Container{
		Id: c.ID, PodSandboxId: c.PodID, Metadata: c.Metadata(), State: state, CreatedAt: c.CreatedAt,
		Image:    &runtimeapi.ImageSpec{Image: listImage(c), UserSpecifiedImage: cfg.GetImage().GetUserSpecifiedImage()},
		ImageRef: c.ImageRef, ImageId: c.ImageID, Labels: cfg.Labels, Annotations: cfg.Annotations,
	}
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
