package stats

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
// every page size the directory lists.
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
		h.Usage, _ = readUint(f)
		if maxUsage != "" {
			h.MaxUsage, _ = readUint(filepath.Join(dir, "hugetlb."+size+"."+maxUsage))
		}
		out = append(out, h)
	}
	return out
}

// readPressure reads cpu, memory and io.pressure of a v2 cgroup; nil when
// the kernel has no PSI.
func readPressure(dir string) *Pressure {
	var p Pressure
	found := false
	for _, r := range []struct {
		file       string
		some, full *uint64
	}{
		{"cpu.pressure", &p.CPUSome, &p.CPUFull},
		{"memory.pressure", &p.MemorySome, &p.MemoryFull},
		{"io.pressure", &p.IOSome, &p.IOFull},
	} {
		b, err := os.ReadFile(filepath.Join(dir, r.file))
		if err != nil {
			continue
		}
		found = true
		*r.some, *r.full = parsePSI(b)
	}
	if !found {
		return nil
	}
	return &p
}

// parsePSI returns the total= of the some and full lines of a pressure
// file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=1234").
func parsePSI(b []byte) (some, full uint64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var total uint64
		for _, kv := range f[1:] {
			if v, ok := strings.CutPrefix(kv, "total="); ok {
				total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		switch f[0] {
		case "some":
			some = total
		case "full":
			full = total
		}
	}
	return some, full
}
