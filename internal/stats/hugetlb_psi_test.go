package stats

import (
	"os"
	"path/filepath"
	"testing"
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

func TestReadPressure(t *testing.T) {
	dir := t.TempDir()
	if readPressure(dir) != nil {
		t.Error("pressure without PSI files")
	}
	must(t, os.WriteFile(filepath.Join(dir, "cpu.pressure"), []byte("some avg10=0.00 avg60=0.00 avg300=0.00 total=3000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "io.pressure"), []byte("some avg10=1.00 avg60=0.00 avg300=0.00 total=7\n"), 0o644))
	p := readPressure(dir)
	if p == nil || p.CPUSome != 3000000 || p.CPUFull != 1000000 || p.IOSome != 7 || p.IOFull != 0 || p.MemorySome != 0 {
		t.Errorf("pressure %+v", p)
	}
}
