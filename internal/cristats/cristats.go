// Package cristats builds the CRI stats answers (ContainerStats,
// PodSandboxStats) from what the background collector (internal/stats)
// last sampled, so a stats RPC reads a cache instead of cgroup files.
package cristats

import (
	occgroups "github.com/opencontainers/cgroups"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
)

// Reader answers from the collector's cache; GraphRoot is the storage
// graph root the writable layers live on.
type Reader struct {
	Collector *stats.Collector
	GraphRoot string
}

// ContainerRef names c's cgroup for the collector; false when c has no
// spec with a cgroups path (not created by this runtime yet).
func ContainerRef(c *container.Container) (stats.ContainerRef, bool) {
	sp := c.Spec()
	if sp == nil || sp.Linux == nil || sp.Linux.CgroupsPath == "" {
		return stats.ContainerRef{}, false
	}
	return stats.ContainerRef{ID: c.ID, CgroupsPath: sp.Linux.CgroupsPath}, true
}

// PodRef names sb's cgroup parent and network namespace for the collector.
func PodRef(sb *sandbox.Sandbox) stats.PodRef {
	return stats.PodRef{ID: sb.ID, CgroupParent: sb.CgroupParent, NetNS: sb.Namespace(sandbox.NetNS)}
}

// ByPod groups containers by their pod's id.
func ByPod(cs []*container.Container) map[string][]*container.Container {
	out := map[string][]*container.Container{}
	for _, c := range cs {
		out[c.PodID] = append(out[c.PodID], c)
	}
	return out
}

// Container builds the CRI stats of c. A container without a cgroup
// (created, exited) gets its attributes and writable layer only.
func (r Reader) Container(c *container.Container) *runtimeapi.ContainerStats {
	cfg := c.Config
	out := &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{
		Id: c.ID, Metadata: c.Metadata(), Labels: cfg.Labels, Annotations: cfg.Annotations,
	}}
	var st stats.ContainerStats
	if ref, ok := ContainerRef(c); ok && !c.Status().Exited {
		st = r.Collector.Container(ref)
	} else {
		st = r.Collector.Container(stats.ContainerRef{ID: c.ID})
	}
	if d := st.Disk; d != nil {
		out.WritableLayer = &runtimeapi.FilesystemUsage{
			Timestamp:  d.Time.UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: r.GraphRoot},
			UsedBytes:  U64(d.Bytes),
			InodesUsed: U64(d.Inodes),
		}
	}
	if st.Cgroup != nil {
		out.Cpu = cpuUsage(st.Cgroup, st.NanoCores, st.HasNanoCores)
		out.Memory = memoryUsage(st.Cgroup)
		out.Swap = swapUsage(st.Cgroup)
		out.Io = ioUsage(st.Cgroup)
	}
	return out
}

// U64 wraps a CRI integer value.
func U64(v uint64) *runtimeapi.UInt64Value { return &runtimeapi.UInt64Value{Value: v} }

func cpuUsage(s *stats.Sample, nanoCores uint64, ok bool) *runtimeapi.CpuUsage {
	cpu := &runtimeapi.CpuUsage{Timestamp: s.Time.UnixNano(), UsageCoreNanoSeconds: U64(s.CPUUsageNs)}
	if ok {
		cpu.UsageNanoCores = U64(nanoCores)
	}
	if p := s.Pressure; p != nil {
		cpu.Psi = psi(p.CPU)
	}
	return cpu
}

// ioUsage carries the cgroup's IO pressure, the only IO figure the CRI
// has; nil without PSI.
func ioUsage(s *stats.Sample) *runtimeapi.IoUsage {
	if s.Pressure == nil || s.Pressure.IO == nil {
		return nil
	}
	return &runtimeapi.IoUsage{Timestamp: s.Time.UnixNano(), Psi: psi(s.Pressure.IO)}
}

// psi is one resource's PSI in the CRI's form; totals pass as the kernel
// counts them (microseconds), as cAdvisor and containerd pass them on.
func psi(p *occgroups.PSIStats) *runtimeapi.PsiStats {
	if p == nil {
		return nil
	}
	data := func(d occgroups.PSIData) *runtimeapi.PsiData {
		return &runtimeapi.PsiData{Total: d.Total, Avg10: d.Avg10, Avg60: d.Avg60, Avg300: d.Avg300}
	}
	return &runtimeapi.PsiStats{Full: data(p.Full), Some: data(p.Some)}
}

func memoryUsage(s *stats.Sample) *runtimeapi.MemoryUsage {
	m := &runtimeapi.MemoryUsage{
		Timestamp:       s.Time.UnixNano(),
		WorkingSetBytes: U64(s.MemWorkingSet),
		AvailableBytes:  U64(s.MemAvailable()),
		UsageBytes:      U64(s.MemUsage),
		RssBytes:        U64(s.MemRSS),
		PageFaults:      U64(s.PageFaults),
		MajorPageFaults: U64(s.MajorPageFaults),
	}
	if p := s.Pressure; p != nil {
		m.Psi = psi(p.Memory)
	}
	return m
}

func swapUsage(s *stats.Sample) *runtimeapi.SwapUsage {
	return &runtimeapi.SwapUsage{
		Timestamp:          s.Time.UnixNano(),
		SwapUsageBytes:     U64(s.SwapUsage),
		SwapAvailableBytes: U64(s.SwapAvailable()),
	}
}
