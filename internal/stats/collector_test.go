package stats

import (
	"os"
	"sync/atomic"
	"testing"
	"time"
)

type fakeSource struct {
	ctrs []ContainerRef
	pods []PodRef
}

func (f *fakeSource) Containers() []ContainerRef { return f.ctrs }
func (f *fakeSource) Pods() []PodRef             { return f.pods }

func TestCollectorCachesSamplesAndDiskUsage(t *testing.T) {
	var walks atomic.Int32
	src := &fakeSource{ctrs: []ContainerRef{{ID: "abc", CgroupsPath: "/kubepods/crio-abc"}}}
	c := NewCollector(Options{
		Layout: fixtureV1(t), Source: src, MinAge: time.Hour,
		Disk: func(id string) (DiskUsage, error) {
			walks.Add(1)
			return DiskUsage{Bytes: 4096, Inodes: 3}, nil
		},
	})
	for range 3 {
		st := c.Container(src.ctrs[0])
		if st.Cgroup == nil || st.Cgroup.CPUUsageNs != 5e9 || st.Disk == nil || st.Disk.Bytes != 4096 || st.Disk.Time.IsZero() {
			t.Fatalf("stats: %+v", st)
		}
	}
	if n := walks.Load(); n != 1 {
		t.Errorf("writable layer measured %d times, want once", n)
	}
	// A container the source no longer lists is forgotten.
	src.ctrs = nil
	c.CollectAll()
	c.mu.Lock()
	n := len(c.ctrs) + len(c.disks)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("entries kept for removed container: %d", n)
	}
}

func TestCollectorMissingCgroup(t *testing.T) {
	c := NewCollector(Options{Layout: fixtureV1(t), Source: &fakeSource{}})
	if st := c.Container(ContainerRef{ID: "x", CgroupsPath: "/kubepods/crio-gone"}); st.Cgroup != nil || st.HasNanoCores {
		t.Errorf("stats of missing cgroup: %+v", st)
	}
}

func TestReadOwnNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("setns needs root")
	}
	devs, err := ReadNetNS("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == "lo" {
			return
		}
	}
	t.Errorf("no lo in %+v", devs)
}
