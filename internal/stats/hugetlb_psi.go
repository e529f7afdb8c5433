package stats

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	occgroups "github.com/opencontainers/cgroups"
)

// HugeTLBUsage is one huge page size's usage; MaxUsage is 0 on cgroup v2,
// which keeps no peak.
type HugeTLBUsage struct {
	PageSize        string // as the cgroup files name it: 2MB, 1GB
	Usage, MaxUsage uint64
}

// Pressure is the cgroup's PSI (cgroup v2, or the unified hierarchy of a
// hybrid host): Some is time at least one task waited, Full time all of
// them stalled. The totals are in microseconds, as the kernel counts.
type Pressure struct {
	CPU, Memory, IO *occgroups.PSIStats // nil: the file is absent
}

// Some and Full are a resource's totals (0 when it has no PSI).
func Some(p *occgroups.PSIStats) uint64 {
	if p == nil {
		return 0
	}
	return p.Some.Total
}

func Full(p *occgroups.PSIStats) uint64 {
	if p == nil {
		return 0
	}
	return p.Full.Total
}

// pressureOf gathers the three resources' PSI; nil without any.
func pressureOf(c, m, i *occgroups.PSIStats) *Pressure {
	if c == nil && m == nil && i == nil {
		return nil
	}
	return &Pressure{CPU: c, Memory: m, IO: i}
}

// readPressure reads the cpu, memory and io pressure files of a cgroup2
// directory (the library reads them only through its v2 manager).
func readPressure(dir string) *Pressure {
	return pressureOf(readPSI(dir, "cpu.pressure"), readPSI(dir, "memory.pressure"), readPSI(dir, "io.pressure"))
}

// readPSI parses a *.pressure file ("some avg10=0.00 avg60=0.00
// avg300=0.00 total=0" and a "full" line); nil when it is missing.
func readPSI(dir, file string) *occgroups.PSIStats {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil
	}
	var st occgroups.PSIStats
	for _, line := range strings.Split(string(b), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		d := &st.Some
		switch kind {
		case "some":
		case "full":
			d = &st.Full
		default:
			continue
		}
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "avg10":
				d.Avg10, _ = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, _ = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, _ = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return &st
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
