package stats

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crio-runtime/crio/internal/oci"
)

func fixtureV1(t *testing.T) Layout {
	t.Helper()
	root, err := filepath.Abs("testdata/v1")
	if err != nil {
		t.Fatal(err)
	}
	l := Layout{V1: map[string]string{}}
	for _, c := range []string{"memory", "cpu", "cpuacct", "pids", "blkio"} {
		l.V1[c] = filepath.Join(root, c)
	}
	return l
}

func TestReadV1(t *testing.T) {
	s, err := fixtureV1(t).Read("/kubepods/crio-abc")
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
	s, err := Layout{Unified: true, V2Root: root}.Read("/kubepods.slice/crio-abc.scope")
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
	_, err := fixtureV1(t).Read("/kubepods/crio-gone")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing cgroup: %v", err)
	}
}

func TestWorkingSetNeverNegative(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "memory.current"), []byte("100\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "memory.stat"), []byte("inactive_file 4096\n"), 0o644))
	s, err := Layout{Unified: true, V2Root: dir}.Read("/")
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

func TestCgroupPaths(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/crio-abc", "/crio-abc"},
		{"/kubepods/besteffort/pod1/crio-abc", "/kubepods/besteffort/pod1/crio-abc"},
		{"system.slice:crio:abc", "/system.slice/crio-abc.scope"},
		{"kubepods-besteffort-pod1.slice:crio:abc", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/crio-abc.scope"},
	}
	for _, tt := range tests {
		got, err := ContainerCgroup(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ContainerCgroup(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	pods := []struct{ parent, driver, want string }{
		{"", "cgroupfs", ""},
		{"/", "cgroupfs", ""},
		{"/kubepods/pod1", "cgroupfs", "/kubepods/pod1"},
		{"kubepods-pod1.slice", "systemd", "/kubepods.slice/kubepods-pod1.slice"},
	}
	for _, tt := range pods {
		got, err := PodCgroup(tt.parent, tt.driver)
		if err != nil || got != tt.want {
			t.Errorf("PodCgroup(%q) = %q, %v; want %q", tt.parent, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a--b.slice", "-a.slice", "a/b.slice", "nope"} {
		if _, err := oci.ExpandSlice(bad); err == nil {
			t.Errorf("ExpandSlice(%q) accepted", bad)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	hybrid := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	l, err := parseMountinfo(strings.NewReader(hybrid))
	if err != nil {
		t.Fatal(err)
	}
	if l.Unified || l.V1["cpuacct"] != "/sys/fs/cgroup/cpu,cpuacct" || l.V1["cpu"] != l.V1["cpuacct"] || l.V1["memory"] != "/sys/fs/cgroup/memory" {
		t.Errorf("hybrid: %+v", l)
	}
	v2 := "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	l, err = parseMountinfo(strings.NewReader(v2))
	if err != nil || !l.Unified || l.V2Root != "/sys/fs/cgroup" {
		t.Errorf("v2: %+v %v", l, err)
	}
	if _, err := parseMountinfo(strings.NewReader("")); err == nil {
		t.Error("no cgroup mounts accepted")
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

func TestApplyV1AndV2(t *testing.T) {
	root := t.TempDir()
	for _, c := range []string{"cpu", "memory"} {
		must(t, os.MkdirAll(filepath.Join(root, c, "pod1"), 0o755))
	}
	l := Layout{V1: map[string]string{"cpu": filepath.Join(root, "cpu"), "memory": filepath.Join(root, "memory")}}
	r := Resources{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, MemoryLimit: 64 << 20}
	if err := l.Apply("/pod1", r.Add(Resources{CPUShares: 2, CPUQuota: 10000, MemoryLimit: 1 << 20})); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"cpu/pod1/cpu.shares": "514", "cpu/pod1/cpu.cfs_quota_us": "60000", "cpu/pod1/cpu.cfs_period_us": "100000",
		"memory/pod1/memory.limit_in_bytes": "68157440",
	} {
		if got := readFile(t, filepath.Join(root, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if err := l.Apply("/nopod", r); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("missing pod cgroup: %v", err)
	}

	v2 := Layout{Unified: true, V2Root: root}
	must(t, os.MkdirAll(filepath.Join(root, "pod2"), 0o755))
	if err := v2.Apply("/pod2", Resources{CPUShares: 1024, CPUQuota: -1, MemoryLimit: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"pod2/cpu.weight": "39", "pod2/cpu.max": "max 100000", "pod2/memory.max": "1073741824"} {
		if got := readFile(t, filepath.Join(root, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 2: 1, 1024: 39, 262144: 10000, 1 << 30: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
