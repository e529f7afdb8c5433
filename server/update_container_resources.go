package server

import (
	"context"

	"github.com/crio-runtime/crio/internal/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cristats"
)

// UpdateContainerResources applies new limits to the live cgroup and the record.
func (s *Server) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	if err := s.checkMemoryDecrease(req.ContainerId, req.GetLinux().GetMemoryLimitInBytes()); err != nil {
		return nil, err
	}
	res, err := s.nriUpdate(ctx, req.ContainerId, req.Linux)
	if err != nil {
		return nil, err
	}
	if err := s.containers.UpdateResources(ctx, req.ContainerId, res); err != nil {
		return nil, err
	}
	s.nriPostUpdate(ctx, req.ContainerId)
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// checkMemoryDecrease refuses a memory limit below what the running
// container uses now, as CRI-O does: the kernel would otherwise reclaim or
// OOM-kill at once. 0 (unlimited) and containers without a cgroup pass.
func (s *Server) checkMemoryDecrease(id string, limit int64) error {
	if limit <= 0 {
		return nil
	}
	c, err := s.containers.Get(id)
	if err != nil {
		return err
	}
	ref, ok := cristats.ContainerRef(c)
	if !ok || !c.Running() {
		return nil
	}
	cur, err := s.obs().Collector().ReadNow(ref)
	if err != nil {
		return nil // gone or not readable: the update itself decides
	}
	if usage := cur.MemUsage; uint64(limit) < usage {
		return errdefs.FailedPrecondition(
			"memory validation failed: cannot decrease memory limit to %d bytes: current usage is %d bytes", limit, usage)
	}
	return nil
}
