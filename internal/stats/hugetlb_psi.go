package stats

import (
	"path/filepath"
	"sort"
	"strings"
)

// HugeTLBUsage is one huge page size's usage; MaxUsage is 0 on cgroup v2,
// which keeps no peak.
type HugeTLBUsage struct {
	PageSize        string // as the cgroup files name it: 2MB, 1GB
	Usage, MaxUsage uint64
}

// Pressure is the cgroup's PSI totals in microseconds (cgroup v2 only):
// Some is time at least one task waited, Full time all of them stalled.
type Pressure struct {
	CPUSome, CPUFull, MemorySome, MemoryFull, IOSome, IOFull uint64
}

// readHugeTLB reads hugetlb.<size>.<usage> (and <max>, when given) of
// every page size the directory lists. opencontainers/cgroups reports the
// reservation counters (hugetlb.<size>.rsvd.*) where the kernel has them;
// the CRI and cAdvisor report faulted pages, so this stays here.
func readHugeTLB(dir, usage, maxUsage string) []HugeTLBUsage {
	if dir == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "hugetlb.*."+usage))
	sort.Strings(files)
	var out []HugeTLBUsage
	for _, f := range files {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "hugetlb."), "."+usage)
		if strings.Contains(size, ".") { // hugetlb.2MB.rsvd.<usage>: reservations
			continue
		}
		h := HugeTLBUsage{PageSize: size}
		h.Usage = paramUint(dir, filepath.Base(f))
		if maxUsage != "" {
			h.MaxUsage = paramUint(dir, "hugetlb."+size+"."+maxUsage)
		}
		out = append(out, h)
	}
	return out
}
