package server

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cristats"
)

// ListPodSandboxStats reports the stats of the pods matching the filter
// (id as a unique prefix, labels exactly).
func (s *Server) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: s.listPodStats(req.GetFilter())}, nil
}

func (s *Server) listPodStats(f *runtimeapi.PodSandboxStatsFilter) []*runtimeapi.PodSandboxStats {
	st := s.obs().Stats()
	byPod := cristats.ByPod(s.containers.Snapshot())
	var out []*runtimeapi.PodSandboxStats
	for _, sb := range s.pods.List() {
		if f != nil && f.Id != "" && !strings.HasPrefix(sb.ID, f.Id) {
			continue
		}
		if f != nil && !labelsMatch(sb.Config.Labels, f.LabelSelector) {
			continue
		}
		out = append(out, st.Pod(sb, byPod[sb.ID]))
	}
	return out
}
