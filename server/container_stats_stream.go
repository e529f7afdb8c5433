package server

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StreamContainerStats sends the same stats as ListContainerStats, each
// container once, in batches, then ends the stream (KEP-5825).
func (s *Server) StreamContainerStats(req *runtimeapi.StreamContainerStatsRequest, stream runtimeapi.RuntimeService_StreamContainerStatsServer) error {
	return sendBatches(s.listContainerStats(req.GetFilter()), func(b []*runtimeapi.ContainerStats) error {
		return stream.Send(&runtimeapi.StreamContainerStatsResponse{ContainerStats: b})
	})
}

// sendBatches sends items in batches of at most streamBatch, each item
// exactly once; nothing is sent for no items (a response carries at least
// one). The stream ends when the caller returns.
func sendBatches[T any](items []T, send func([]T) error) error {
	for len(items) > 0 {
		n := min(streamBatch, len(items))
		if err := send(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}
