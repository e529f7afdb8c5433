package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

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
		if _, err := PodCgroup(bad, "systemd"); err == nil {
			t.Errorf("PodCgroup(%q) accepted", bad)
		}
	}
}

func TestWeightToShares(t *testing.T) {
	for weight, want := range map[uint64]uint64{0: 0, 1: 2, 100: 2597, 10000: 262144} {
		if got := WeightToShares(weight); got != want {
			t.Errorf("WeightToShares(%d) = %d, want %d", weight, got, want)
		}
	}
}

// TestDetectLayout reads this host's mounts: a v2 host has one root, a v1
// or hybrid one has at least the memory controller.
func TestDetectLayout(t *testing.T) {
	l, err := DetectLayout()
	if err != nil {
		t.Skipf("no cgroups here: %v", err)
	}
	if l.Unified && l.V2Root == "" || !l.Unified && l.V1["memory"] == "" {
		t.Errorf("layout %+v", l)
	}
	if !l.Unified && l.Dir("nosuchcontroller", "/a") != "" {
		t.Error("unmounted controller has a directory")
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

// TestRemoveEmpty: a cgroup and its children go from every hierarchy;
// the root never does. Empty directories stand in for cgroups.
func TestRemoveEmpty(t *testing.T) {
	root := t.TempDir()
	l := Layout{V1: map[string]string{"cpu": filepath.Join(root, "cpu,cpuacct"), "cpuacct": filepath.Join(root, "cpu,cpuacct"), "memory": filepath.Join(root, "memory")}, Hybrid: filepath.Join(root, "unified")}
	for _, d := range []string{"cpu,cpuacct/pod/crio-a/sub", "memory/pod/crio-a", "unified/pod/crio-a", "memory/pod/crio-b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !RemoveEmpty(l, "/pod/crio-a") {
		t.Error("RemoveEmpty reported a leftover")
	}
	for _, d := range []string{"cpu,cpuacct/pod/crio-a", "memory/pod/crio-a", "unified/pod/crio-a"} {
		if _, err := os.Stat(filepath.Join(root, d)); !os.IsNotExist(err) {
			t.Errorf("%s stayed", d)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "memory/pod/crio-b")); err != nil {
		t.Errorf("a sibling went: %v", err)
	}
	if RemoveEmpty(l, "/") || RemoveEmpty(l, "..") {
		t.Error("the root is never removed")
	}
	if !RemoveEmpty(l, "/pod/crio-a") {
		t.Error("already gone is gone")
	}
}

// TestMakeEmpty: the cgroup appears in each hierarchy that holds its
// parent, once, and nowhere else; making it again is fine.
func TestMakeEmpty(t *testing.T) {
	root := t.TempDir()
	l := Layout{V1: map[string]string{"cpu": filepath.Join(root, "cpu,cpuacct"), "cpuacct": filepath.Join(root, "cpu,cpuacct"), "memory": filepath.Join(root, "memory"), "pids": filepath.Join(root, "pids")}}
	for _, d := range []string{"cpu,cpuacct/pod", "memory/pod"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := MakeEmpty(l, "/pod/crio-a"); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"cpu,cpuacct/pod/crio-a", "memory/pod/crio-a"} {
		if _, err := os.Stat(filepath.Join(root, d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "pids/pod")); !os.IsNotExist(err) {
		t.Errorf("a missing pod cgroup was made: %v", err)
	}
	if MakeEmpty(l, "/") == nil {
		t.Error("the root is refused")
	}
}
