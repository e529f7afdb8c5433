package podmetrics

import (
	"math"
	"slices"
	"testing"
	"time"

	occgroups "github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/stats"
	"github.com/crio-runtime/crio/pkg/config"
)

// tableValues runs every table metric over in.
func tableValues(in *metricInput) map[string][]series {
	out := map[string][]series{}
	for _, m := range containerMetrics {
		out[m.name] = m.values(in)
	}
	return out
}

func TestSpecMetricsFollowResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, tt := range map[string]struct {
		r    *specs.LinuxResources
		want map[string]uint64 // absent from the map: no series
	}{
		"limits": {
			r: &specs.LinuxResources{
				CPU:     &specs.LinuxCPU{Period: u64(10000), Quota: i64(20000), Shares: u64(512)},
				Memory:  &specs.LinuxMemory{Limit: i64(256 << 20), Swap: i64(256 << 20)},
				Unified: map[string]string{"memory.min": "134217728"},
			},
			want: map[string]uint64{
				"container_spec_cpu_period": 10000, "container_spec_cpu_quota": 20000, "container_spec_cpu_shares": 512,
				"container_spec_memory_limit_bytes": 256 << 20, "container_spec_memory_swap_limit_bytes": 256 << 20,
				"container_spec_memory_reservation_limit_bytes": 128 << 20, "container_start_time_seconds": uint64(created.Unix()),
			},
		},
		"unlimited": {
			r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1)}, Memory: &specs.LinuxMemory{Limit: i64(-1), Swap: i64(math.MaxInt64)}},
			want: map[string]uint64{
				"container_spec_cpu_period": 0, "container_spec_cpu_shares": 0, "container_spec_memory_limit_bytes": 0,
				"container_spec_memory_swap_limit_bytes": 0, "container_spec_memory_reservation_limit_bytes": 0,
				"container_start_time_seconds": uint64(created.Unix()),
			},
		},
	} {
		c := &container.Container{Record: container.Record{Resources: tt.r, CreatedAt: created.UnixNano()}}
		got := tableValues(&metricInput{c: c, now: time.Now()})
		for _, m := range containerMetrics {
			if m.group != "spec" {
				continue
			}
			want, ok := tt.want[m.name]
			s := got[m.name]
			if !ok {
				if len(s) != 0 {
					t.Errorf("%s: %s = %v, want no series", name, m.name, s)
				}
				continue
			}
			if len(s) != 1 || s[0].v != want {
				t.Errorf("%s: %s = %v, want %d", name, m.name, s, want)
			}
		}
	}
}

func TestDiskAndIOMetrics(t *testing.T) {
	now := time.Now()
	in := &metricInput{
		c:    &container.Container{},
		s:    &stats.Sample{Time: now, Extended: stats.Extended{IO: []stats.DeviceIO{{Major: 7, Minor: 99, Bytes: map[string]uint64{"Read": 4096, "Write": 8192}, Ops: map[string]uint64{"Read": 1, "Write": 2}}}}},
		disk: &stats.DiskUsage{Time: now, Bytes: 12288, Inodes: 3},
		fs:   &stats.FsInfo{Capacity: 1 << 30, Inodes: 1000, InodesFree: 400},
		now:  now,
	}
	got := tableValues(in)
	for name, want := range map[string]uint64{
		"container_fs_usage_bytes": 12288, "container_fs_inodes_total": 3, "container_fs_inodes_free": 0,
		"container_fs_limit_bytes": 1 << 30, "container_fs_reads_bytes_total": 4096, "container_fs_writes_total": 2,
	} {
		if s := got[name]; len(s) != 1 || s[0].v != want {
			t.Errorf("%s = %v, want %d", name, s, want)
		}
	}
	// The disk series carry only the base labels, as in CRI-O.
	if s := got["container_fs_inodes_total"]; len(s) == 1 && len(s[0].labels) != 0 {
		t.Errorf("disk labels %v", s[0].labels)
	}
	var ops []string
	for _, s := range got["container_blkio_device_usage_total"] {
		ops = append(ops, s.labels[3])
		if s.labels[1] != "7" || s.labels[2] != "99" {
			t.Errorf("blkio labels %v", s.labels)
		}
	}
	if !slices.Equal(ops, []string{"read", "write"}) {
		t.Errorf("blkio operations %v, want CRI-O's lower case", ops)
	}
}

func TestMetricGroupsAsCRIO(t *testing.T) {
	described := func(inc []string) []string {
		st := config.StatsConfig{IncludedPodMetrics: inc}
		var names []string
		for _, m := range containerMetrics {
			if st.PodMetricIncluded(m.group) {
				names = append(names, m.name)
			}
		}
		return names
	}
	if got := described(nil); !slices.Equal(got, []string{"container_last_seen"}) {
		t.Errorf("empty included_pod_metrics: %v, want only the always-on container_last_seen", got)
	}
	if got := described([]string{"all"}); len(got) != len(containerMetrics) {
		t.Errorf("all: %d of %d metrics", len(got), len(containerMetrics))
	}
	spec := described([]string{"spec"})
	for _, n := range []string{"container_spec_memory_limit_bytes", "container_start_time_seconds", "container_spec_cpu_quota"} {
		if !slices.Contains(spec, n) {
			t.Errorf("spec group lacks %s: %v", n, spec)
		}
	}
}

func TestHugeTLBAndPressureMetrics(t *testing.T) {
	now := time.Now()
	s := &stats.Sample{Time: now}
	s.HugeTLB = []stats.HugeTLBUsage{{PageSize: "1GB"}, {PageSize: "2MB", Usage: 2 << 20, MaxUsage: 2 << 20}}
	got := tableValues(&metricInput{c: &container.Container{}, s: s, now: now})
	if u := got["container_hugetlb_usage_bytes"]; len(u) != 2 || u[1].labels[0] != "2MB" || u[1].v != 2<<20 || u[0].v != 0 {
		t.Errorf("hugetlb usage %v", u)
	}
	// cgroup v1: no PSI, no pressure series.
	if p := got["container_pressure_cpu_waiting_seconds_total"]; len(p) != 0 {
		t.Errorf("pressure without PSI: %v", p)
	}
	s.Pressure = &stats.Pressure{CPU: &occgroups.PSIStats{Some: occgroups.PSIData{Total: 3_500_000}}, IO: &occgroups.PSIStats{Full: occgroups.PSIData{Total: 2_000_000}}}
	got = tableValues(&metricInput{c: &container.Container{}, s: s, now: now})
	if p := got["container_pressure_cpu_waiting_seconds_total"]; len(p) != 1 || p[0].v != 3 {
		t.Errorf("cpu waiting %v, want 3 s", p)
	}
	if p := got["container_pressure_io_stalled_seconds_total"]; len(p) != 1 || p[0].v != 2 {
		t.Errorf("io stalled %v, want 2 s", p)
	}
}

// TestSpecBytesInPages: a memory limit is reported as the kernel keeps it,
// rounded down to whole pages (the kubelet's node e2e wants 80 MB as
// 79998976 with 4 KiB pages, as cAdvisor reads it from the cgroup).
func TestSpecBytesInPages(t *testing.T) {
	v := int64(80_000_000)
	if got, want := specBytes(&v), uint64(80_000_000)/pageSize*pageSize; got != want || got%pageSize != 0 {
		t.Errorf("specBytes(80e6) = %d, want %d", got, want)
	}
	for _, v := range []int64{-1, math.MaxInt64} {
		if got := specBytes(&v); got != 0 {
			t.Errorf("specBytes(%d) = %d, want 0 (unlimited)", v, got)
		}
	}
}

// TestCadvisorIgnores: the interfaces cAdvisor leaves out of a container's
// network stats stay out of the pod's series.
func TestCadvisorIgnores(t *testing.T) {
	for name, want := range map[string]bool{"lo": true, "veth1234": true, "docker0": true, "Docker0": true, "nerdctl0": true, "eth0": false, "net1": false, "cni0": false} {
		if got := cadvisorIgnores(name); got != want {
			t.Errorf("cadvisorIgnores(%q) = %v, want %v", name, got, want)
		}
	}
}
