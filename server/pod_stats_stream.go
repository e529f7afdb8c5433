package server

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StreamPodSandboxStats sends the filtered pod stats now and then once per
// collection period until the client goes away.
func (s *Server) StreamPodSandboxStats(req *runtimeapi.StreamPodSandboxStatsRequest, stream runtimeapi.RuntimeService_StreamPodSandboxStatsServer) error {
	return s.everyPeriod(stream.Context().Done(), func() error {
		return stream.Send(&runtimeapi.StreamPodSandboxStatsResponse{PodSandboxStats: s.listPodStats(req.GetFilter())})
	})
}
