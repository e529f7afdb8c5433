package stats

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/crio-runtime/crio/internal/cgroups"
)

func TestReadV2Extended(t *testing.T) {
	root, _ := filepath.Abs("testdata/v2")
	s, err := Read(cgroups.Layout{Unified: true, V2Root: root}, "/kubepods.slice/crio-lim.scope")
	if err != nil {
		t.Fatal(err)
	}
	want := Extended{
		CPUPeriods: 50, CPUThrottledPeriods: 5, CPUThrottledNs: 1.5e9, CPUPeriodUs: 50000, CPUShares: 2597,
		LocalPageFaults: 77, LocalMajorPageFaults: 4, MemFailcnt: 9, MemMappedFile: 12288, MemMaxUsage: 60000000,
		// No "kernel" key (before Linux 5.18): the parts add up.
		MemKernel: 100 + 200 + 10 + 5 + 300,
		// v2 swap.max is swap alone; reported as memory+swap like v1 memsw.
		MemSwapLimit: 96 << 20, OOMKills: 1, MemEventsHigh: 3, MemEventsMax: 9, Threads: 4, ThreadsMax: 0,
		IO: []DeviceIO{
			{Major: 8, Minor: 0, Bytes: map[string]uint64{"Read": 1024, "Write": 2048, "Discard": 0}, Ops: map[string]uint64{"Read": 3, "Write": 4, "Discard": 0}},
			{Major: 259, Minor: 0, Bytes: map[string]uint64{"Read": 10, "Write": 20, "Discard": 5}, Ops: map[string]uint64{"Read": 1, "Write": 2, "Discard": 1}},
		},
	}
	if !reflect.DeepEqual(s.Extended, want) {
		t.Errorf("got  %+v\nwant %+v", s.Extended, want)
	}
}

func TestParseIOStatJunk(t *testing.T) {
	if got := parseIOStat([]byte("garbage\n1:2 rbytes=x wbytes=3 odd\n")); len(got) != 1 || got[0].Bytes["Write"] != 3 || len(got[0].Bytes) != 1 {
		t.Errorf("io.stat junk: %+v", got)
	}
}

// fakeProc builds a /proc with the fixture status files and fd links:
// pid 100 has a file and a socket, pid 101 two sockets and a pipe.
func fakeProc(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	fds := map[string][]string{
		"100": {"/dev/null", "socket:[1234]"},
		"101": {"socket:[1]", "socket:[2]", "pipe:[3]"},
	}
	for pid, links := range fds {
		dir := filepath.Join(root, pid, "fd")
		must(t, os.MkdirAll(dir, 0o755))
		for i, l := range links {
			must(t, os.Symlink(l, filepath.Join(dir, string(rune('0'+i)))))
		}
		b, err := os.ReadFile(filepath.Join("testdata/proc", pid, "status"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(root, pid, "status"), b, 0o644))
	}
	// Only pid 101 has a limits file: the first readable one counts.
	must(t, os.WriteFile(filepath.Join(root, "101", "limits"), []byte(
		"Limit                     Soft Limit           Hard Limit           Units     \n"+
			"Max processes             unlimited            unlimited            processes \n"+
			"Max open files            1000                 1025                 files     \n"), 0o644))
	return root
}

func TestAddProcesses(t *testing.T) {
	proc := fakeProc(t)
	cg := t.TempDir()
	// 102 exited between reading cgroup.procs and /proc: skipped.
	must(t, os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte("100\n101\n102\n"), 0o644))
	l := cgroups.Layout{Unified: true, V2Root: cg}
	tests := []struct {
		name                 string
		threads, wantThreads uint64
	}{
		{"threads from status", 0, 6},
		{"pids controller wins", 9, 9},
	}
	for _, tt := range tests {
		s := &Sample{}
		s.Threads = tt.threads
		addProcesses(l, s, "/", proc)
		if s.FileDescriptors != 5 || s.Sockets != 3 || s.Threads != tt.wantThreads || s.OpenFilesSoft != 1000 {
			t.Errorf("%s: fds %d sockets %d threads %d open files soft limit %d", tt.name, s.FileDescriptors, s.Sockets, s.Threads, s.OpenFilesSoft)
		}
	}
	// No cgroup.procs (the cgroup is gone): nothing counted, no panic.
	s := &Sample{}
	addProcesses(cgroups.Layout{Unified: true, V2Root: t.TempDir()}, s, "/", proc)
	if s.FileDescriptors != 0 || s.Threads != 0 {
		t.Errorf("missing cgroup: %+v", s.Extended)
	}
}

func TestProcsFileV1(t *testing.T) {
	l := cgroups.Layout{V1: map[string]string{"memory": "/m", "cpu": "/c"}}
	if got := procsFile(l, "/a"); got != "/m/a/cgroup.procs" {
		t.Errorf("v1 procs file: %q", got)
	}
	if got := procsFile(cgroups.Layout{V1: map[string]string{"cpuset": "/s"}}, "/a"); got != "" {
		t.Errorf("no usable controller: %q", got)
	}
}

func TestMountSource(t *testing.T) {
	info := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /proc rw - proc proc rw
30 22 8:1 /var/lib/x /mnt/bind rw - ext4 /dev/sda1 rw
41 22 0:45 / /var/lib/my\040store rw - xfs /dev/my\040disk rw
`
	tests := []struct {
		major, minor uint32
		want         string
	}{{8, 1, "/dev/sda1"}, {0, 45, "/dev/my disk"}, {9, 9, ""}}
	for _, tt := range tests {
		got := ""
		if m, err := mountinfo.GetMountsFromReader(strings.NewReader(info), firstOfDevice(tt.major, tt.minor)); err == nil && len(m) > 0 {
			got = m[0].Source
		}
		if got != tt.want {
			t.Errorf("%d:%d = %q, want %q", tt.major, tt.minor, got, tt.want)
		}
	}
}

func TestFilesystem(t *testing.T) {
	fi, err := Filesystem(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Capacity == 0 || fi.Available > fi.Capacity || fi.InodesFree > fi.Inodes {
		t.Errorf("statfs: %+v", fi)
	}
	if _, err := Filesystem("/nonexistent/dir"); err == nil {
		t.Error("missing path accepted")
	}
}

func TestDeviceNameUnknown(t *testing.T) {
	// No block device has these numbers: the numbers stand in for a name.
	if got := DeviceName(4095, 1048575); got != "4095:1048575" {
		t.Errorf("unknown device: %q", got)
	}
}
