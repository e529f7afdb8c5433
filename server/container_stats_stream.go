package server

import (
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// defaultStreamInterval paces the stats streams when stats are collected
// on demand (no collection period to follow).
const defaultStreamInterval = 10 * time.Second

// StreamContainerStats sends the filtered container stats now and then
// once per collection period until the client goes away.
func (s *Server) StreamContainerStats(req *runtimeapi.StreamContainerStatsRequest, stream runtimeapi.RuntimeService_StreamContainerStatsServer) error {
	return s.everyPeriod(stream.Context().Done(), func() error {
		return stream.Send(&runtimeapi.StreamContainerStatsResponse{ContainerStats: s.listContainerStats(req.GetFilter())})
	})
}

// everyPeriod calls send at once and then every stats period until done.
func (s *Server) everyPeriod(done <-chan struct{}, send func() error) error {
	interval := s.obs().collector.Period()
	if interval <= 0 {
		interval = defaultStreamInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := send(); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-t.C:
		}
	}
}
