package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/stats"
)

// ContainerStats reports one container's CPU, memory, swap and writable
// layer usage.
func (s *Server) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	c, err := s.containers.Get(req.ContainerId)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ContainerStatsResponse{Stats: s.containerStats(s.obs(), c)}, nil
}

// containerStats builds the CRI stats of c from the collector's cache.
// A container without a cgroup (created, exited) gets its attributes and
// writable layer only.
func (s *Server) containerStats(o *observability, c *container.Container) *runtimeapi.ContainerStats {
	cfg := c.Config
	out := &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{
		Id: c.ID, Metadata: c.Metadata(), Labels: cfg.Labels, Annotations: cfg.Annotations,
	}}
	var st stats.ContainerStats
	if ref, ok := containerRef(c); ok && !c.Status().Exited {
		st = o.collector.Container(ref)
	} else {
		st = o.collector.Container(stats.ContainerRef{ID: c.ID})
	}
	if d := st.Disk; d != nil {
		out.WritableLayer = &runtimeapi.FilesystemUsage{
			Timestamp:  d.Time.UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: s.images.Store().GraphRoot()},
			UsedBytes:  u64(d.Bytes),
			InodesUsed: u64(d.Inodes),
		}
	}
	if st.Cgroup != nil {
		out.Cpu = cpuUsage(st.Cgroup, st.NanoCores, st.HasNanoCores)
		out.Memory = memoryUsage(st.Cgroup)
		out.Swap = swapUsage(st.Cgroup)
	}
	return out
}

func u64(v uint64) *runtimeapi.UInt64Value { return &runtimeapi.UInt64Value{Value: v} }

func cpuUsage(s *stats.Sample, nanoCores uint64, ok bool) *runtimeapi.CpuUsage {
	cpu := &runtimeapi.CpuUsage{Timestamp: s.Time.UnixNano(), UsageCoreNanoSeconds: u64(s.CPUUsageNs)}
	if ok {
		cpu.UsageNanoCores = u64(nanoCores)
	}
	return cpu
}

func memoryUsage(s *stats.Sample) *runtimeapi.MemoryUsage {
	return &runtimeapi.MemoryUsage{
		Timestamp:       s.Time.UnixNano(),
		WorkingSetBytes: u64(s.MemWorkingSet),
		AvailableBytes:  u64(s.MemAvailable()),
		UsageBytes:      u64(s.MemUsage),
		RssBytes:        u64(s.MemRSS),
		PageFaults:      u64(s.PageFaults),
		MajorPageFaults: u64(s.MajorPageFaults),
	}
}

func swapUsage(s *stats.Sample) *runtimeapi.SwapUsage {
	return &runtimeapi.SwapUsage{
		Timestamp:          s.Time.UnixNano(),
		SwapUsageBytes:     u64(s.SwapUsage),
		SwapAvailableBytes: u64(s.SwapAvailable()),
	}
}
