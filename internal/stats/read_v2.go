package stats

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	occgroups "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs2"
	"github.com/opencontainers/cgroups/fscommon"

	"github.com/crio-runtime/crio/internal/cgroups"
)

// readV2 reads memory, CPU, pids and pressure with the library's v2
// manager. io.stat is parsed here: the library drops the discard counters
// (dbytes, dios) that container_blkio_device_usage_total reports.
func readV2(s *Sample, dir string) error {
	if err := exists(dir); err != nil {
		return err
	}
	st, err := libStats(fs2.NewManager(&occgroups.Cgroup{}, dir))
	if err != nil {
		return err
	}
	ms := st.MemoryStats
	s.fillMemory(ms, func(key string) uint64 { return ms.Stats[key] })
	s.MemRSS, s.MemCache, s.MemMappedFile = ms.Stats["anon"], ms.Stats["file"], ms.Stats["file_mapped"]
	s.MemKernel = v2Kernel(ms.Stats)
	s.MemLimit = noMax(ms.Usage.Limit)
	s.SwapUsage, s.SwapLimit = ms.SwapOnlyUsage.Usage, noMax(ms.SwapOnlyUsage.Limit)
	s.MemMaxUsage = ms.Usage.MaxUsage
	if s.MemMaxUsage == 0 { // memory.peak only exists since Linux 5.19
		s.MemMaxUsage = s.MemUsage
	}
	// v2 swap.max is swap alone; reported as memory+swap like v1 memsw.
	if s.MemLimit > 0 && ms.SwapOnlyUsage.Limit != math.MaxUint64 && has(dir, "memory.swap.max") {
		s.MemSwapLimit = s.MemLimit + ms.SwapOnlyUsage.Limit
	}
	ev := keyValues(dir, "memory.events")
	s.OOMKills, s.MemFailcnt = ev["oom_kill"], ev["max"]
	s.MemEventsHigh, s.MemEventsMax = ev["high"], ev["max"]
	s.fillCPU(st.CpuStats)
	if max, err := occgroups.ReadFile(dir, "cpu.max"); err == nil {
		if f := strings.Fields(max); len(f) == 2 {
			s.CPUPeriodUs, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	s.CPUShares = cgroups.WeightToShares(paramUint(dir, "cpu.weight"))
	// Without pids.current the library counts cgroup.procs; the thread
	// count then comes from /proc (addProcesses).
	if has(dir, "pids.current") {
		s.Pids = st.PidsStats.Current
		s.Threads, s.ThreadsMax = s.Pids, st.PidsStats.Limit
	}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		s.IO = parseIOStat(b)
	}
	s.HugeTLB = readHugeTLB(dir, "current", "")
	s.Pressure = pressure(st)
	return nil
}

func noMax(v uint64) uint64 {
	if v == math.MaxUint64 {
		return 0
	}
	return v
}

func has(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// keyValues reads a flat "key value" cgroup file (memory.events); nil
// when it is missing.
func keyValues(dir, file string) map[string]uint64 {
	data, err := occgroups.ReadFile(dir, file)
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		if k, v, err := fscommon.ParseKeyValue(sc.Text()); err == nil {
			out[k] = v
		}
	}
	return out
}

// v2Kernel is memory.stat's kernel (Linux 5.18+), else the sum of the
// kernel parts older kernels list.
func v2Kernel(st map[string]uint64) uint64 {
	if v, ok := st["kernel"]; ok {
		return v
	}
	return st["kernel_stack"] + st["pagetables"] + st["percpu"] + st["sock"] + st["vmalloc"] + st["slab"]
}

// pressure is the PSI the library read; nil without PSI.
func pressure(st *occgroups.Stats) *Pressure {
	return pressureOf(st.CpuStats.PSI, st.MemoryStats.PSI, st.BlkioStats.PSI)
}
