package stats

import (
	"os"
	"path/filepath"
	"testing"

	occgroups "github.com/opencontainers/cgroups"
)

func TestReadHugeTLB(t *testing.T) {
	dir := t.TempDir()
	for f, v := range map[string]string{
		"hugetlb.2MB.usage_in_bytes": "2097152\n", "hugetlb.2MB.max_usage_in_bytes": "4194304\n",
		"hugetlb.1GB.usage_in_bytes": "0\n", "hugetlb.1GB.max_usage_in_bytes": "0\n",
		"hugetlb.2MB.rsvd.usage_in_bytes": "2097152\n", // a reservation, not a page size
	} {
		must(t, os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644))
	}
	got := readHugeTLB(dir, "usage_in_bytes", "max_usage_in_bytes")
	want := []HugeTLBUsage{{PageSize: "1GB"}, {PageSize: "2MB", Usage: 2 << 20, MaxUsage: 4 << 20}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("v1 hugetlb %+v, want %+v", got, want)
	}
	if got := readHugeTLB("", "current", ""); got != nil {
		t.Errorf("no hugetlb controller: %+v", got)
	}
}

func TestPressure(t *testing.T) {
	if pressure(occgroups.NewStats()) != nil {
		t.Error("pressure without PSI")
	}
	st := occgroups.NewStats()
	st.CpuStats.PSI = &occgroups.PSIStats{Some: occgroups.PSIData{Total: 3000000}, Full: occgroups.PSIData{Total: 1000000}}
	st.BlkioStats.PSI = &occgroups.PSIStats{Some: occgroups.PSIData{Total: 7}}
	p := pressure(st)
	if p == nil || Some(p.CPU) != 3000000 || Full(p.CPU) != 1000000 || Some(p.IO) != 7 || Full(p.IO) != 0 || Some(p.Memory) != 0 {
		t.Errorf("pressure %+v", p)
	}
}

// TestReadV1HybridPressure: on a hybrid host a cgroup's PSI is read from
// the unified hierarchy, averages and all; without that mount there is
// none.
func TestReadV1HybridPressure(t *testing.T) {
	l := fixtureV1(t)
	if s, err := Read(l, "/kubepods/crio-abc"); err != nil || s.Pressure != nil {
		t.Fatalf("v1 without a unified mount: %v, %+v", err, s.Pressure)
	}
	l.Hybrid = t.TempDir()
	dir := filepath.Join(l.Hybrid, "kubepods", "crio-abc")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "cpu.pressure"), []byte("some avg10=1.50 avg60=0.25 avg300=0.05 total=3000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "io.pressure"), []byte("some avg10=0.00 avg60=0.00 avg300=0.00 total=7\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"), 0o644))
	s, err := Read(l, "/kubepods/crio-abc")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Pressure
	if p == nil || Some(p.CPU) != 3000000 || Full(p.CPU) != 1000000 || Some(p.IO) != 7 || p.Memory != nil {
		t.Fatalf("pressure %+v", p)
	}
	if p.CPU.Some.Avg10 != 1.5 || p.CPU.Some.Avg60 != 0.25 || p.CPU.Some.Avg300 != 0.05 {
		t.Errorf("cpu averages %+v", p.CPU.Some)
	}
}
