package stats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
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

// unlimited is the threshold above which a v1 limit means "no limit"
// (the kernel reports PAGE_COUNTER_MAX pages, about 2^63).
const unlimited = uint64(1) << 62

// Read samples the cgroup rel (relative to the mounts). A cgroup that does
// not exist (the container is gone or not started) is fs.ErrNotExist.
func (l Layout) Read(rel string) (*Sample, error) {
	s := &Sample{Time: time.Now()}
	var err error
	if l.Unified {
		err = readV2(s, l.dir("", rel))
	} else {
		err = readV1(s, l, rel)
	}
	if err != nil {
		return nil, fmt.Errorf("read cgroup %s: %w", rel, err)
	}
	return s, nil
}

func readV1(s *Sample, l Layout, rel string) error {
	mem := l.dir("memory", rel)
	if mem == "" {
		return fmt.Errorf("no memory controller: %w", fs.ErrNotExist)
	}
	usage, err := readUint(filepath.Join(mem, "memory.usage_in_bytes"))
	if err != nil {
		return err
	}
	st, err := readKV(filepath.Join(mem, "memory.stat"))
	if err != nil {
		return err
	}
	s.MemUsage = usage
	s.MemInactiveFile = v1Stat(st, "inactive_file")
	s.MemRSS = v1Stat(st, "rss")
	s.MemCache = v1Stat(st, "cache")
	s.PageFaults = v1Stat(st, "pgfault")
	s.MajorPageFaults = v1Stat(st, "pgmajfault")
	s.SwapUsage = v1Stat(st, "swap")
	s.MemWorkingSet = sub(usage, s.MemInactiveFile)
	if lim, err := readUint(filepath.Join(mem, "memory.limit_in_bytes")); err == nil && lim < unlimited {
		s.MemLimit = lim
		if sw, err := readUint(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil && sw < unlimited {
			s.SwapLimit = sub(sw, lim)
		}
	}
	if d := l.dir("cpuacct", rel); d != "" {
		if s.CPUUsageNs, err = readUint(filepath.Join(d, "cpuacct.usage")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if kv, err := readKV(filepath.Join(d, "cpuacct.stat")); err == nil {
			// USER_HZ ticks; 100 on every Linux ABI the runtime supports.
			s.CPUUserNs, s.CPUSystemNs = kv["user"]*1e7, kv["system"]*1e7
		}
	}
	if d := l.dir("pids", rel); d != "" {
		s.Pids, _ = readUint(filepath.Join(d, "pids.current"))
	}
	readV1Extended(s, l, rel, st)
	return nil
}

// v1Stat prefers the hierarchical total_ counter.
func v1Stat(kv map[string]uint64, key string) uint64 {
	if v, ok := kv["total_"+key]; ok {
		return v
	}
	return kv[key]
}

func readV2(s *Sample, dir string) error {
	usage, err := readUint(filepath.Join(dir, "memory.current"))
	if err != nil {
		return err
	}
	st, err := readKV(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return err
	}
	s.MemUsage = usage
	s.MemInactiveFile = st["inactive_file"]
	s.MemRSS = st["anon"]
	s.MemCache = st["file"]
	s.PageFaults = st["pgfault"]
	s.MajorPageFaults = st["pgmajfault"]
	s.MemWorkingSet = sub(usage, s.MemInactiveFile)
	if lim, err := readUint(filepath.Join(dir, "memory.max")); err == nil {
		s.MemLimit = lim
	}
	s.SwapUsage, _ = readUint(filepath.Join(dir, "memory.swap.current"))
	s.SwapLimit, _ = readUint(filepath.Join(dir, "memory.swap.max"))
	cpu, err := readKV(filepath.Join(dir, "cpu.stat"))
	if err == nil {
		s.CPUUsageNs, s.CPUUserNs, s.CPUSystemNs = cpu["usage_usec"]*1000, cpu["user_usec"]*1000, cpu["system_usec"]*1000
	}
	s.Pids, _ = readUint(filepath.Join(dir, "pids.current"))
	readV2Extended(s, dir, st, cpu)
	return nil
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// readUint reads a one-number file; "max" is 0 (unlimited).
func readUint(p string) (uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	return parseUint(string(bytes.TrimSpace(b)))
}

func parseUint(s string) (uint64, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Negative values (-1 for "no limit" in some v1 files) clamp to 0.
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// readKV reads "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
func readKV(p string) (map[string]uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return parseKV(b), nil
}

func parseKV(b []byte) map[string]uint64 {
	out := make(map[string]uint64, 48)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
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
