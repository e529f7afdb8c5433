package stats

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Extended holds the cAdvisor-style counters beyond what the CRI stats
// calls need; ListPodSandboxMetrics reports them. Limits of 0 mean
// unlimited or unknown.
type Extended struct {
	// CFS bandwidth control (cpu.stat).
	CPUPeriods          uint64
	CPUThrottledPeriods uint64
	CPUThrottledNs      uint64
	// The cgroup's configured CPU period (µs) and shares (v2 weight
	// converted back to shares).
	CPUPeriodUs uint64
	CPUShares   uint64

	// Page faults of this cgroup alone; Sample.PageFaults counts the
	// hierarchy (they differ on v1 only).
	LocalPageFaults      uint64
	LocalMajorPageFaults uint64
	MemFailcnt           uint64 // times the limit was hit (v2: memory.events max)
	MemKernel            uint64
	MemMappedFile        uint64
	MemMaxUsage          uint64
	MemSwapLimit         uint64 // memory+swap, as v1 memsw and cAdvisor report it
	OOMKills             uint64

	Threads    uint64 // pids.current, else the sum over the processes
	ThreadsMax uint64

	// Filled for containers only (a walk of /proc).
	FileDescriptors uint64
	Sockets         uint64
	// OpenFilesSoft is the soft RLIMIT_NOFILE of the cgroup's first
	// process (0 when unlimited or unknown), CRI-O's container_ulimits_soft.
	OpenFilesSoft uint64

	IO []DeviceIO

	HugeTLB  []HugeTLBUsage
	Pressure *Pressure // nil without PSI (always on cgroup v1)
}

// readV1Extended reads what a v1 host offers beyond the basic sample;
// every file is optional (older kernels lack oom_kill, kmem, ...).
func readV1Extended(s *Sample, l Layout, rel string, st map[string]uint64) {
	s.LocalPageFaults, s.LocalMajorPageFaults = st["pgfault"], st["pgmajfault"]
	s.MemMappedFile = v1Stat(st, "mapped_file")
	mem := l.dir("memory", rel)
	s.MemFailcnt, _ = readUint(filepath.Join(mem, "memory.failcnt"))
	s.MemMaxUsage, _ = readUint(filepath.Join(mem, "memory.max_usage_in_bytes"))
	s.MemKernel, _ = readUint(filepath.Join(mem, "memory.kmem.usage_in_bytes"))
	if kv, err := readKV(filepath.Join(mem, "memory.oom_control")); err == nil {
		s.OOMKills = kv["oom_kill"]
	}
	if sw, err := readUint(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil && sw < unlimited {
		s.MemSwapLimit = sw
	}
	if d := l.dir("cpu", rel); d != "" {
		if kv, err := readKV(filepath.Join(d, "cpu.stat")); err == nil {
			s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNs = kv["nr_periods"], kv["nr_throttled"], kv["throttled_time"]
		}
		s.CPUPeriodUs, _ = readUint(filepath.Join(d, "cpu.cfs_period_us"))
		s.CPUShares, _ = readUint(filepath.Join(d, "cpu.shares"))
	}
	if d := l.dir("pids", rel); d != "" {
		s.Threads = s.Pids // the pids controller counts tasks, i.e. threads
		s.ThreadsMax, _ = readUint(filepath.Join(d, "pids.max"))
	}
	if d := l.dir("blkio", rel); d != "" {
		s.IO = readBlkioV1(d)
	}
	s.HugeTLB = readHugeTLB(l.dir("hugetlb", rel), "usage_in_bytes", "max_usage_in_bytes")
}

// readV2Extended is readV1Extended for the unified hierarchy; cpu is the
// already parsed cpu.stat (nil when absent).
func readV2Extended(s *Sample, dir string, st, cpu map[string]uint64) {
	s.LocalPageFaults, s.LocalMajorPageFaults = st["pgfault"], st["pgmajfault"]
	s.MemMappedFile = st["file_mapped"]
	s.MemKernel = v2Kernel(st)
	if ev, err := readKV(filepath.Join(dir, "memory.events")); err == nil {
		s.OOMKills, s.MemFailcnt = ev["oom_kill"], ev["max"]
	}
	s.MemMaxUsage = s.MemUsage // memory.peak only exists since Linux 5.19
	if peak, err := readUint(filepath.Join(dir, "memory.peak")); err == nil {
		s.MemMaxUsage = peak
	}
	if b, err := os.ReadFile(filepath.Join(dir, "memory.swap.max")); err == nil && s.MemLimit > 0 {
		if sw, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			s.MemSwapLimit = s.MemLimit + sw
		}
	}
	s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNs = cpu["nr_periods"], cpu["nr_throttled"], cpu["throttled_usec"]*1000
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			s.CPUPeriodUs, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	if w, err := readUint(filepath.Join(dir, "cpu.weight")); err == nil {
		s.CPUShares = WeightToShares(w)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.current")); err == nil {
		s.Threads = s.Pids
		s.ThreadsMax, _ = readUint(filepath.Join(dir, "pids.max"))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		s.IO = parseIOStat(b)
	}
	s.HugeTLB = readHugeTLB(dir, "current", "")
	s.Pressure = readPressure(dir)
}

// v2Kernel is memory.stat's kernel (Linux 5.18+), else the sum of the
// kernel parts older kernels list.
func v2Kernel(st map[string]uint64) uint64 {
	if v, ok := st["kernel"]; ok {
		return v
	}
	return st["kernel_stack"] + st["pagetables"] + st["percpu"] + st["sock"] + st["vmalloc"] + st["slab"]
}

// WeightToShares inverts SharesToWeight (v2 cpu.weight [1, 10000] to v1
// cpu.shares [2, 262144]), as cAdvisor does.
func WeightToShares(weight uint64) uint64 {
	if weight == 0 {
		return 0
	}
	return 2 + ((weight-1)*262142)/9999
}
