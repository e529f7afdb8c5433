package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
)

// ListContainerStats reports the stats of the containers matching the
// filter (id and pod as unique prefixes, labels exactly). It reads the
// collector's cache, so its cost does not grow with cgroup file reads
// when a collection period is set.
func (s *Server) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	return &runtimeapi.ListContainerStatsResponse{Stats: s.listContainerStats(req.GetFilter())}, nil
}

func (s *Server) listContainerStats(f *runtimeapi.ContainerStatsFilter) []*runtimeapi.ContainerStats {
	st := s.obs().Stats()
	var out []*runtimeapi.ContainerStats
	for _, c := range s.containers.Snapshot() {
		if statsFilterMatches(c, f) {
			out = append(out, st.Container(c))
		}
	}
	return out
}

// statsFilterMatches is ListContainers' filter without the state field.
func statsFilterMatches(c *container.Container, f *runtimeapi.ContainerStatsFilter) bool {
	if f == nil {
		return true
	}
	return containerMatches(c, &runtimeapi.ContainerFilter{Id: f.Id, PodSandboxId: f.PodSandboxId, LabelSelector: f.LabelSelector})
}
