package stats

import (
	"fmt"
	"path/filepath"

	occgroups "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"

	"github.com/crio-runtime/crio/internal/cgroups"
)

// unlimited is the threshold above which a v1 limit means "no limit"
// (the kernel reports PAGE_COUNTER_MAX pages, about 2^63).
const unlimited = uint64(1) << 62

// readV1 reads memory, CPU, pids and blkio with the library's v1 manager.
// On a host whose disks use BFQ the library reports BFQ's I/O counters
// (as runc and cAdvisor do); elsewhere the throttle counters.
func readV1(s *Sample, l cgroups.Layout, rel string) error {
	mem := l.Dir("memory", rel)
	if err := exists(mem); err != nil {
		return fmt.Errorf("no memory cgroup: %w", err)
	}
	paths := map[string]string{}
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids", "blkio"} {
		if d := l.Dir(c, rel); d != "" {
			paths[c] = d
		}
	}
	st, err := libStats(fs.NewManager(&occgroups.Cgroup{Resources: &occgroups.Resources{}}, paths))
	if err != nil {
		return err
	}
	ms := st.MemoryStats
	// v1 prefers the hierarchical total_ counter.
	stat := func(key string) uint64 {
		if v, ok := ms.Stats["total_"+key]; ok {
			return v
		}
		return ms.Stats[key]
	}
	s.fillMemory(ms, stat)
	s.MemRSS, s.MemCache, s.SwapUsage, s.MemMappedFile = stat("rss"), stat("cache"), stat("swap"), stat("mapped_file")
	if lim := ms.Usage.Limit; lim < unlimited {
		s.MemLimit = lim
		if sw := ms.SwapUsage.Limit; sw < unlimited {
			s.SwapLimit = sub(sw, lim)
		}
	}
	if sw := ms.SwapUsage.Limit; sw < unlimited {
		s.MemSwapLimit = sw
	}
	s.MemFailcnt, s.MemMaxUsage, s.MemKernel = ms.Usage.Failcnt, ms.Usage.MaxUsage, ms.KernelUsage.Usage
	s.OOMKills, _ = fs.OOMKillCount(mem)
	s.fillCPU(st.CpuStats)
	cpu := l.Dir("cpu", rel)
	s.CPUPeriodUs, s.CPUShares = paramUint(cpu, "cpu.cfs_period_us"), paramUint(cpu, "cpu.shares")
	if l.Dir("pids", rel) != "" {
		s.Pids = st.PidsStats.Current
		s.Threads = s.Pids // the pids controller counts tasks, i.e. threads
		s.ThreadsMax = st.PidsStats.Limit
	}
	s.IO = blkioDevices(st.BlkioStats)
	s.HugeTLB = readHugeTLB(l.Dir("hugetlb", rel), "usage_in_bytes", "max_usage_in_bytes")
	if l.Hybrid != "" {
		s.Pressure = readPressure(filepath.Join(l.Hybrid, rel))
	}
	return nil
}
