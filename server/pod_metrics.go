package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cristats"
	"github.com/crio-runtime/crio/internal/podmetrics"
)

// ListPodSandboxMetrics reports the described metrics for every ready
// pod: network series for the pod, cgroup and disk series per container.
func (s *Server) ListPodSandboxMetrics(ctx context.Context, req *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: s.listPodMetrics()}, nil
}

// StreamPodSandboxMetrics sends the same metrics as ListPodSandboxMetrics,
// each pod once, in batches, then ends the stream.
func (s *Server) StreamPodSandboxMetrics(req *runtimeapi.StreamPodSandboxMetricsRequest, stream runtimeapi.RuntimeService_StreamPodSandboxMetricsServer) error {
	return sendBatches(s.listPodMetrics(), func(b []*runtimeapi.PodSandboxMetrics) error {
		return stream.Send(&runtimeapi.StreamPodSandboxMetricsResponse{PodSandboxMetrics: b})
	})
}

func (s *Server) listPodMetrics() []*runtimeapi.PodSandboxMetrics {
	o := s.obs()
	l := podmetrics.Lister{Collector: o.Collector(), GraphRoot: o.GraphRoot(), Included: s.Config().Crio.Stats.PodMetricIncluded, Log: s.log}
	return l.List(s.pods.List(), cristats.ByPod(s.containers.Snapshot()))
}
