package stats

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	occgroups "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fscommon"

	"github.com/crio-runtime/crio/internal/cgroups"
)

// Sample is one reading of a cgroup. Memory limits of 0 mean unlimited.
type Sample struct {
	Time time.Time

	CPUUsageNs  uint64 // cumulative CPU time of all tasks
	CPUUserNs   uint64
	CPUSystemNs uint64

	MemUsage        uint64
	MemWorkingSet   uint64 // usage - inactive_file, as the kubelet defines it
	MemRSS          uint64 // anonymous memory (v1 total_rss, v2 anon)
	MemCache        uint64
	MemInactiveFile uint64
	MemLimit        uint64
	PageFaults      uint64
	MajorPageFaults uint64

	SwapUsage uint64
	SwapLimit uint64

	Pids uint64

	Extended
}

// MemAvailable is limit - working set; with no limit the host's memory
// stands in for it, as CRI-O and cAdvisor report.
func (s *Sample) MemAvailable() uint64 {
	limit := s.MemLimit
	if host := hostMemory(); limit == 0 || (host > 0 && limit > host) {
		limit = host
	}
	if limit <= s.MemWorkingSet {
		return 0
	}
	return limit - s.MemWorkingSet
}

// SwapAvailable is the swap left under the limit (0 when unlimited/unknown).
func (s *Sample) SwapAvailable() uint64 {
	if s.SwapLimit == 0 || s.SwapLimit <= s.SwapUsage {
		return 0
	}
	return s.SwapLimit - s.SwapUsage
}

// libControllers are what opencontainers/cgroups reads for a sample; v2
// io.stat and hugetlb are read here (see readV2 and readHugeTLB for why).
const libControllers = occgroups.CPU | occgroups.Memory | occgroups.Pids | occgroups.IO

// libStats reads what the library offers for a sample with manager m. It
// reads more files than a sample needs (v1 numa_stat, per-CPU usage, kmem.tcp):
// measured on a v1 host, one container sample went from 0.51-0.80 ms with the
// former hand-written readers to 0.64-0.85 ms, kept for one maintained parser.
func libStats(m occgroups.Manager, err error) (*occgroups.Stats, error) {
	if err != nil {
		return nil, err
	}
	return m.Stats(&occgroups.StatsOptions{Controllers: libControllers})
}

// Read samples the cgroup rel (relative to the mounts of l) with
// opencontainers/cgroups' managers. A cgroup that does not exist (the
// container is gone or not started) is fs.ErrNotExist.
func Read(l cgroups.Layout, rel string) (*Sample, error) {
	s := &Sample{Time: time.Now()}
	var err error
	if l.Unified {
		err = readV2(s, l.Dir("", rel))
	} else {
		err = readV1(s, l, rel)
	}
	if err != nil {
		return nil, fmt.Errorf("read cgroup %s: %w", rel, err)
	}
	return s, nil
}

// exists is fs.ErrNotExist when dir is gone: the library skips a missing
// controller directory rather than failing.
func exists(dir string) error {
	if dir == "" {
		return fs.ErrNotExist
	}
	_, err := os.Stat(dir)
	return err
}

// fillMemory sets the memory figures both versions share; st is memory.stat.
func (s *Sample) fillMemory(m occgroups.MemoryStats, stat func(string) uint64) {
	s.MemUsage = m.Usage.Usage
	s.MemInactiveFile = stat("inactive_file")
	s.MemWorkingSet = sub(s.MemUsage, s.MemInactiveFile)
	s.PageFaults, s.MajorPageFaults = stat("pgfault"), stat("pgmajfault")
	s.LocalPageFaults, s.LocalMajorPageFaults = m.Stats["pgfault"], m.Stats["pgmajfault"]
}

func (s *Sample) fillCPU(c occgroups.CpuStats) {
	s.CPUUsageNs, s.CPUUserNs, s.CPUSystemNs = c.CpuUsage.TotalUsage, c.CpuUsage.UsageInUsermode, c.CpuUsage.UsageInKernelmode
	t := c.ThrottlingData
	s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNs = t.Periods, t.ThrottledPeriods, t.ThrottledTime
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// paramUint reads a one-number cgroup file; "max" and a missing or
// unreadable file are 0 (unlimited or unknown).
func paramUint(dir, file string) uint64 {
	if dir == "" {
		return 0
	}
	v, err := fscommon.GetCgroupParamUint(dir, file)
	if err != nil || v == math.MaxUint64 {
		return 0
	}
	return v
}

// hostMemory is MemTotal in bytes, read once.
var hostMemory = sync.OnceValue(func() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return parseMemTotal(b)
})

func parseMemTotal(b []byte) uint64 {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// NanoCores is the CPU rate between two samples of the same cgroup, in
// billionths of a core; ok is false when it cannot be computed (no
// elapsed time, or a counter that went backwards after a cgroup reset).
func NanoCores(prev, cur *Sample) (uint64, bool) {
	if prev == nil || cur == nil {
		return 0, false
	}
	dt := cur.Time.Sub(prev.Time)
	if dt <= 0 || cur.CPUUsageNs < prev.CPUUsageNs {
		return 0, false
	}
	used := float64(cur.CPUUsageNs - prev.CPUUsageNs)
	return uint64(used / float64(dt.Nanoseconds()) * 1e9), true
}
