package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cristats"
)

// PodSandboxStats reports a pod's CPU, memory, process and network usage
// and the stats of its containers.
func (s *Server) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	ctrs := cristats.ByPod(s.containers.Snapshot())[sb.ID]
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.obs().Stats().Pod(sb, ctrs)}, nil
}
