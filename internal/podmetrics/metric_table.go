package podmetrics

import (
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/stats"
)

// containerMetrics are reported per running container, in this order.
// Names, help and labels follow cAdvisor, which the kubelet's consumers
// expect.
var containerMetrics = []containerMetric{
	cg("cpu", "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUUsageNs) }),
	cg("cpu", "container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUUserNs) }),
	cg("cpu", "container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUSystemNs) }),
	cg("cpu", "container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", counter, func(s *stats.Sample) uint64 { return s.CPUPeriods }),
	cg("cpu", "container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", counter, func(s *stats.Sample) uint64 { return s.CPUThrottledPeriods }),
	cg("cpu", "container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUThrottledNs) }),

	cg("memory", "container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", gauge, func(s *stats.Sample) uint64 { return s.MemUsage }),
	cg("memory", "container_memory_working_set_bytes", "Current working set in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemWorkingSet }),
	cg("memory", "container_memory_rss", "Size of RSS in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemRSS }),
	cg("memory", "container_memory_cache", "Number of bytes of page cache memory.", gauge, func(s *stats.Sample) uint64 { return s.MemCache }),
	cg("memory", "container_memory_swap", "Container swap usage in bytes.", gauge, func(s *stats.Sample) uint64 { return s.SwapUsage }),
	cg("memory", "container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemKernel }),
	cg("memory", "container_memory_mapped_file", "Size of memory mapped files in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemMappedFile }),
	cg("memory", "container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemMaxUsage }),
	cg("memory", "container_memory_failcnt", "Number of memory usage hits limits.", counter, func(s *stats.Sample) uint64 { return s.MemFailcnt }),
	cg("memory", "container_memory_events_high_total", "Cumulative count of memory.high throttle events for the container.", counter, func(s *stats.Sample) uint64 { return s.MemEventsHigh }),
	cg("memory", "container_memory_events_max_total", "Cumulative count of memory.max limit hit events for the container.", counter, func(s *stats.Sample) uint64 { return s.MemEventsMax }),
	{group: "memory", name: "container_memory_failures_total", help: "Cumulative count of memory allocation failures.", typ: counter, labels: failureLabels, values: memoryFailures},

	cg("oom", "container_oom_events_total", "Count of out of memory events observed for the container.", counter, func(s *stats.Sample) uint64 { return s.OOMKills }),

	cg("process", "container_processes", "Number of processes running inside the container.", gauge, func(s *stats.Sample) uint64 { return s.Pids }),
	cg("process", "container_threads", "Number of threads running inside the container.", gauge, func(s *stats.Sample) uint64 { return s.Threads }),
	cg("process", "container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero.", gauge, func(s *stats.Sample) uint64 { return s.ThreadsMax }),
	cg("process", "container_file_descriptors", "Number of open file descriptors for the container.", gauge, func(s *stats.Sample) uint64 { return s.FileDescriptors }),
	cg("process", "container_sockets", "Number of open sockets for the container.", gauge, func(s *stats.Sample) uint64 { return s.Sockets }),
	{group: "process", name: "container_ulimits_soft", help: "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice.", typ: gauge, labels: []string{"ulimit"}, values: func(in *metricInput) []series {
		if in.s == nil {
			return nil
		}
		return []series{{at: in.s.Time, labels: []string{"max_open_files"}, v: in.s.OpenFilesSoft}}
	}},

	spec("container_spec_cpu_period", "CPU period of the container.", func(r *specs.LinuxResources) (uint64, bool) { return deref(cpuOf(r).Period), true }),
	spec("container_spec_cpu_shares", "CPU share of the container.", func(r *specs.LinuxResources) (uint64, bool) { return deref(cpuOf(r).Shares), true }),
	// Like CRI-O, the quota only when one is set.
	spec("container_spec_cpu_quota", "CPU quota of the container.", func(r *specs.LinuxResources) (uint64, bool) {
		if q := cpuOf(r).Quota; q != nil && *q > 0 {
			return uint64(*q), true
		}
		return 0, false
	}),
	spec("container_spec_memory_limit_bytes", "Memory limit for the container.", func(r *specs.LinuxResources) (uint64, bool) { return specBytes(memOf(r).Limit), true }),
	// memory.min from the unified resources (the kubelet's memory QoS).
	spec("container_spec_memory_reservation_limit_bytes", "Memory reservation limit for the container.", func(r *specs.LinuxResources) (uint64, bool) {
		v, err := strconv.ParseInt(r.Unified["memory.min"], 10, 64)
		if err != nil {
			v = 0
		}
		return specBytes(&v), true
	}),
	spec("container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", func(r *specs.LinuxResources) (uint64, bool) { return specBytes(memOf(r).Swap), true }),
	{group: "spec", name: "container_start_time_seconds", help: "Start time of the container since unix epoch in seconds.", typ: gauge, values: func(in *metricInput) []series {
		return []series{{at: in.now, v: uint64(max(in.c.CreatedAt, 0)) / 1e9}}
	}},

	// Always on, as in CRI-O.
	{name: "container_last_seen", help: "Last time a container was seen by the exporter.", typ: gauge, values: func(in *metricInput) []series {
		return []series{{at: in.now, v: uint64(in.now.Unix())}}
	}},

	// The writable layer's bytes and inodes and the size of the filesystem
	// holding it (no device label, as in CRI-O). The inodes are cAdvisor's
	// for a CRI-O container, which the kubelet's /metrics/cadvisor shows
	// without PodAndContainerStatsFromCRI: total is the layer's inodes in
	// use, free is 0 (CRI-O's own listing gives the filesystem's).
	diskMetric("container_fs_usage_bytes", "Number of bytes consumed by the container's writable layer.", func(in *metricInput) (uint64, bool) {
		return diskValue(in, func(d *stats.DiskUsage) uint64 { return d.Bytes })
	}),
	diskMetric("container_fs_inodes_total", "Number of Inodes", func(in *metricInput) (uint64, bool) {
		return diskValue(in, func(d *stats.DiskUsage) uint64 { return d.Inodes })
	}),
	diskMetric("container_fs_inodes_free", "Number of available Inodes", func(in *metricInput) (uint64, bool) {
		return diskValue(in, func(*stats.DiskUsage) uint64 { return 0 })
	}),
	diskMetric("container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", func(in *metricInput) (uint64, bool) {
		return fsValue(in, func(f *stats.FsInfo) uint64 { return f.Capacity })
	}),

	ioMetric("container_fs_reads_bytes_total", "Cumulative count of bytes read.", func(d stats.DeviceIO) map[string]uint64 { return d.Bytes }, "Read"),
	ioMetric("container_fs_reads_total", "Cumulative count of reads completed.", func(d stats.DeviceIO) map[string]uint64 { return d.Ops }, "Read"),
	ioMetric("container_fs_writes_bytes_total", "Cumulative count of bytes written.", func(d stats.DeviceIO) map[string]uint64 { return d.Bytes }, "Write"),
	ioMetric("container_fs_writes_total", "Cumulative count of writes completed.", func(d stats.DeviceIO) map[string]uint64 { return d.Ops }, "Write"),
	{group: "diskIO", name: "container_blkio_device_usage_total", help: "Blkio Device bytes usage.", typ: counter, labels: blkioLabels, values: blkioUsage},

	hugetlbMetric("container_hugetlb_usage_bytes", "Current hugepage usage.", func(h stats.HugeTLBUsage) uint64 { return h.Usage }),
	hugetlbMetric("container_hugetlb_max_usage_bytes", "Maximum hugepage usages recorded.", func(h stats.HugeTLBUsage) uint64 { return h.MaxUsage }),

	psiMetric("container_pressure_cpu_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to CPU congestion.", func(p *stats.Pressure) uint64 { return stats.Full(p.CPU) }),
	psiMetric("container_pressure_cpu_waiting_seconds_total", "Total time duration tasks in the container have waited due to CPU congestion.", func(p *stats.Pressure) uint64 { return stats.Some(p.CPU) }),
	psiMetric("container_pressure_memory_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to memory congestion.", func(p *stats.Pressure) uint64 { return stats.Full(p.Memory) }),
	psiMetric("container_pressure_memory_waiting_seconds_total", "Total time duration tasks in the container have waited due to memory congestion.", func(p *stats.Pressure) uint64 { return stats.Some(p.Memory) }),
	psiMetric("container_pressure_io_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to IO congestion.", func(p *stats.Pressure) uint64 { return stats.Full(p.IO) }),
	psiMetric("container_pressure_io_waiting_seconds_total", "Total time duration tasks in the container have waited due to IO congestion.", func(p *stats.Pressure) uint64 { return stats.Some(p.IO) }),
}

// hugetlbMetric is one value per huge page size (label pagesize).
func hugetlbMetric(name, help string, v func(stats.HugeTLBUsage) uint64) containerMetric {
	return containerMetric{group: "hugetlb", name: name, help: help, typ: gauge, labels: []string{"pagesize"}, values: func(in *metricInput) []series {
		if in.s == nil {
			return nil
		}
		var out []series
		for _, h := range in.s.HugeTLB {
			out = append(out, series{at: in.s.Time, labels: []string{h.PageSize}, v: v(h)})
		}
		return out
	}}
}

// psiMetric is a PSI total in whole seconds (CRI values are integers), only
// where the kernel keeps PSI for cgroups (v2).
func psiMetric(name, help string, us func(*stats.Pressure) uint64) containerMetric {
	return containerMetric{group: "pressure", name: name, help: help, typ: counter, values: func(in *metricInput) []series {
		if in.s == nil || in.s.Pressure == nil {
			return nil
		}
		return []series{{at: in.s.Time, v: us(in.s.Pressure) / 1e6}}
	}}
}

var netMetrics = []netMetric{
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", func(d stats.NetDev) uint64 { return d.RxBytes }},
	{"container_network_receive_packets_total", "Cumulative count of packets received.", func(d stats.NetDev) uint64 { return d.RxPackets }},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.", func(d stats.NetDev) uint64 { return d.RxDropped }},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.", func(d stats.NetDev) uint64 { return d.RxErrors }},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", func(d stats.NetDev) uint64 { return d.TxBytes }},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", func(d stats.NetDev) uint64 { return d.TxPackets }},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.", func(d stats.NetDev) uint64 { return d.TxDropped }},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.", func(d stats.NetDev) uint64 { return d.TxErrors }},
}

// memoryFailures reports page faults by type, for the container's own
// cgroup and its hierarchy, as cAdvisor does.
func memoryFailures(in *metricInput) []series {
	s := in.s
	if s == nil {
		return nil
	}
	return []series{
		{at: s.Time, labels: []string{"pgfault", "container"}, v: s.LocalPageFaults},
		{at: s.Time, labels: []string{"pgfault", "hierarchy"}, v: s.PageFaults},
		{at: s.Time, labels: []string{"pgmajfault", "container"}, v: s.LocalMajorPageFaults},
		{at: s.Time, labels: []string{"pgmajfault", "hierarchy"}, v: s.MajorPageFaults},
	}
}

// diskMetric is a gauge of the writable layer or its filesystem.
func diskMetric(name, help string, v func(*metricInput) (uint64, bool)) containerMetric {
	return containerMetric{group: "disk", name: name, help: help, typ: gauge, values: func(in *metricInput) []series {
		val, ok := v(in)
		if !ok {
			return nil
		}
		at := in.now
		if in.disk != nil {
			at = in.disk.Time
		}
		return []series{{at: at, v: val}}
	}}
}

func diskValue(in *metricInput, v func(*stats.DiskUsage) uint64) (uint64, bool) {
	if in.disk == nil {
		return 0, false
	}
	return v(in.disk), true
}

func fsValue(in *metricInput, v func(*stats.FsInfo) uint64) (uint64, bool) {
	if in.fs == nil {
		return 0, false
	}
	return v(in.fs), true
}

// ioMetric is one operation's count per block device the container used.
func ioMetric(name, help string, pick func(stats.DeviceIO) map[string]uint64, op string) containerMetric {
	return containerMetric{group: "diskIO", name: name, help: help, typ: counter, labels: deviceLabels, values: func(in *metricInput) []series {
		if in.s == nil {
			return nil
		}
		var out []series
		for _, d := range in.s.IO {
			if v, ok := pick(d)[op]; ok {
				out = append(out, series{at: in.s.Time, labels: []string{stats.DeviceName(d.Major, d.Minor)}, v: v})
			}
		}
		return out
	}}
}

// blkioUsage is every device's bytes by operation.
func blkioUsage(in *metricInput) []series {
	if in.s == nil {
		return nil
	}
	var out []series
	for _, d := range in.s.IO {
		dev, maj, mnr := stats.DeviceName(d.Major, d.Minor), strconv.FormatUint(d.Major, 10), strconv.FormatUint(d.Minor, 10)
		ops := make([]string, 0, len(d.Bytes))
		for op := range d.Bytes {
			ops = append(ops, op)
		}
		slices.Sort(ops)
		for _, op := range ops {
			// Lower case as CRI-O (cAdvisor keeps the kernel's "Read").
			out = append(out, series{at: in.s.Time, labels: []string{dev, maj, mnr, strings.ToLower(op)}, v: d.Bytes[op]})
		}
	}
	return out
}

func cpuOf(r *specs.LinuxResources) *specs.LinuxCPU {
	if r.CPU == nil {
		return &specs.LinuxCPU{}
	}
	return r.CPU
}

func memOf(r *specs.LinuxResources) *specs.LinuxMemory {
	if r.Memory == nil {
		return &specs.LinuxMemory{}
	}
	return r.Memory
}

func deref[T ~uint64](p *T) uint64 {
	if p == nil {
		return 0
	}
	return uint64(*p)
}
