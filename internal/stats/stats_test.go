package stats

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/crio-runtime/crio/internal/cgroups"
)

func fixtureV1(t *testing.T) cgroups.Layout {
	t.Helper()
	root, err := filepath.Abs("testdata/v1")
	if err != nil {
		t.Fatal(err)
	}
	l := cgroups.Layout{V1: map[string]string{}}
	for _, c := range []string{"memory", "cpu", "cpuacct", "pids", "blkio"} {
		l.V1[c] = filepath.Join(root, c)
	}
	return l
}

func TestReadV1(t *testing.T) {
	s, err := Read(fixtureV1(t), "/kubepods/crio-abc")
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{
		CPUUsageNs: 5e9, CPUUserNs: 3e9, CPUSystemNs: 1.5e9,
		MemUsage: 100 << 20, MemInactiveFile: 20 << 20, MemWorkingSet: 80 << 20, MemRSS: 50 << 20, MemCache: 40 << 20,
		MemLimit: 200 << 20, PageFaults: 12345, MajorPageFaults: 12, SwapUsage: 4096, SwapLimit: 100 << 20, Pids: 3,
		Extended: Extended{
			CPUPeriods: 40, CPUThrottledPeriods: 10, CPUThrottledNs: 2.5e9, CPUPeriodUs: 100000, CPUShares: 512,
			LocalPageFaults: 5, LocalMajorPageFaults: 1, MemFailcnt: 7, MemKernel: 2 << 20, MemMappedFile: 8192,
			MemMaxUsage: 150 << 20, MemSwapLimit: 300 << 20, OOMKills: 2, Threads: 3, ThreadsMax: 1024,
			IO: []DeviceIO{
				{
					Major: 8, Minor: 0,
					Bytes: map[string]uint64{"Read": 4096, "Write": 8192, "Sync": 12288, "Async": 0, "Discard": 0, "Total": 12288},
					Ops:   map[string]uint64{"Read": 1, "Write": 2, "Sync": 3, "Async": 0, "Discard": 0, "Total": 3},
				},
				{Major: 253, Minor: 1, Bytes: map[string]uint64{"Read": 512, "Write": 0}, Ops: map[string]uint64{"Read": 1, "Write": 0}},
			},
		},
	}
	want.Time = s.Time
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("got  %+v\nwant %+v", *s, want)
	}
	if got := s.MemAvailable(); got != 120<<20 {
		t.Errorf("available: %d", got)
	}
	if got := s.SwapAvailable(); got != 100<<20-4096 {
		t.Errorf("swap available: %d", got)
	}
}

func TestReadV2(t *testing.T) {
	root, _ := filepath.Abs("testdata/v2")
	s, err := Read(cgroups.Layout{Unified: true, V2Root: root}, "/kubepods.slice/crio-abc.scope")
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{
		CPUUsageNs: 2.5e9, CPUUserNs: 2e9, CPUSystemNs: 5e8,
		MemUsage: 70 << 20, MemInactiveFile: 10 << 20, MemWorkingSet: 60 << 20, MemRSS: 30 << 20, MemCache: 20 << 20,
		PageFaults: 999, MajorPageFaults: 3, SwapUsage: 8192, Pids: 2,
		// No limits, no memory.peak (pre-5.19): max usage is the usage.
		Extended: Extended{LocalPageFaults: 999, LocalMajorPageFaults: 3, MemKernel: 1 << 20, MemMaxUsage: 70 << 20, Threads: 2},
	}
	want.Time = s.Time
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("got  %+v\nwant %+v", *s, want)
	}
	// Unlimited: the host's memory bounds what is available.
	if hostMemory() > 0 && s.MemAvailable() != hostMemory()-s.MemWorkingSet {
		t.Errorf("available without limit: %d", s.MemAvailable())
	}
}

func TestReadMissingCgroup(t *testing.T) {
	_, err := Read(fixtureV1(t), "/kubepods/crio-gone")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing cgroup: %v", err)
	}
}

func TestWorkingSetNeverNegative(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "memory.current"), []byte("100\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "memory.stat"), []byte("inactive_file 4096\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "memory.max"), []byte("max\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "cgroup.procs"), nil, 0o644))
	s, err := Read(cgroups.Layout{Unified: true, V2Root: dir}, "/")
	if err != nil {
		t.Fatal(err)
	}
	if s.MemWorkingSet != 0 {
		t.Errorf("working set: %d", s.MemWorkingSet)
	}
}

func TestNanoCores(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name      string
		prev, cur *Sample
		want      uint64
		ok        bool
	}{
		{"half a core", &Sample{Time: t0, CPUUsageNs: 1e9}, &Sample{Time: t0.Add(2 * time.Second), CPUUsageNs: 2e9}, 5e8, true},
		{"two cores", &Sample{Time: t0, CPUUsageNs: 0}, &Sample{Time: t0.Add(time.Second), CPUUsageNs: 2e9}, 2e9, true},
		{"idle", &Sample{Time: t0, CPUUsageNs: 7}, &Sample{Time: t0.Add(time.Second), CPUUsageNs: 7}, 0, true},
		{"first sample", nil, &Sample{Time: t0}, 0, false},
		{"no elapsed time", &Sample{Time: t0}, &Sample{Time: t0}, 0, false},
		{"counter reset", &Sample{Time: t0, CPUUsageNs: 9e9}, &Sample{Time: t0.Add(time.Second), CPUUsageNs: 1e9}, 0, false},
	}
	for _, tt := range tests {
		got, ok := NanoCores(tt.prev, tt.cur)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %d,%v want %d,%v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	in := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0: 1234567      89    1    2    0     0          0         0   765432      55    3    4    0     0       0          0
`
	devs, err := ParseNetDev([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 {
		t.Fatalf("devs: %+v", devs)
	}
	want := NetDev{Name: "eth0", RxBytes: 1234567, RxPackets: 89, RxErrors: 1, RxDropped: 2, TxBytes: 765432, TxPackets: 55, TxErrors: 3, TxDropped: 4}
	if devs[1] != want {
		t.Errorf("eth0: %+v", devs[1])
	}
	if _, err := ParseNetDev([]byte("eth0: 1 2 3\n")); err == nil {
		t.Error("short line accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
