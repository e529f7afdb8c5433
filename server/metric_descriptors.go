package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/podmetrics"
)

// ListMetricDescriptors describes every metric ListPodSandboxMetrics
// reports, as included_pod_metrics selects them.
func (s *Server) ListMetricDescriptors(ctx context.Context, req *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: podmetrics.Descriptors(s.Config().Crio.Stats.PodMetricIncluded)}, nil
}
