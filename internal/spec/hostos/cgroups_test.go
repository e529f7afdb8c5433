package hostos

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestHugepageSizes(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"hugepages-2048kB", "hugepages-1048576kB", "hugepages-64kB", "other"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := HugepageSizes(dir)
	slices.Sort(got)
	if want := []string{"1GB", "2MB", "64KB"}; !slices.Equal(got, want) {
		t.Fatalf("sizes %v, want %v", got, want)
	}
}

func TestV1Mounts(t *testing.T) {
	// This host's layout: v1 controllers, a named systemd hierarchy, a v2
	// unified mount and no hugetlb.
	info := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	m := V1Mounts(p)
	if m["cpu"] != "/sys/fs/cgroup/cpu,cpuacct" || m["cpuacct"] != m["cpu"] || m["memory"] != "/sys/fs/cgroup/memory" {
		t.Fatalf("mounts %v", m)
	}
	if _, ok := m["hugetlb"]; ok {
		t.Fatalf("hugetlb found in %v", m)
	}
}
