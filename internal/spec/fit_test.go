package spec

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// What the kubelet sends on every container: a zero limit for each page
// size the node reports.
func kubeletHugepages() []specs.LinuxHugepageLimit {
	return []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "1GB"}}
}

func TestFitResources(t *testing.T) {
	// This CI host: cgroup v1, hugetlb controller not mounted, swap
	// accounting on, no blkio weights, two CPUs, one node.
	v1NoHugetlb := &CgroupSupport{HugepageSizes: []string{"2MB", "1GB"}, Swap: true, CPURealtime: true, CPUs: "0-1", Mems: "0"}
	v1All := &CgroupSupport{Hugetlb: true, HugepageSizes: []string{"2MB"}, Swap: true, BlkioWeight: true, CPURealtime: true}
	v2 := &CgroupSupport{V2: true, Hugetlb: true, HugepageSizes: []string{"2MB", "1GB"}, Controllers: []string{"cpu", "memory", "pids", "hugetlb"}}
	tests := []struct {
		name      string
		host      *CgroupSupport
		in        specs.LinuxResources
		check     func(r *specs.LinuxResources) bool
		warns     int
		errField  string
		warnMatch string
	}{
		{
			name: "no hugetlb controller: every hugepage limit left out", host: v1NoHugetlb,
			in:    specs.LinuxResources{HugepageLimits: kubeletHugepages()},
			check: func(r *specs.LinuxResources) bool { return len(r.HugepageLimits) == 0 },
			warns: 2, warnMatch: "hugetlb cgroup controller is not available",
		},
		{
			name: "page sizes the host lacks left out", host: v1All,
			in: specs.LinuxResources{HugepageLimits: kubeletHugepages()},
			check: func(r *specs.LinuxResources) bool {
				return len(r.HugepageLimits) == 1 && r.HugepageLimits[0].Pagesize == "2MB"
			},
			warns: 1, warnMatch: "no such page size",
		},
		{
			name: "nil host enforces everything", host: nil,
			in: specs.LinuxResources{HugepageLimits: kubeletHugepages(), Unified: map[string]string{"memory.high": "1"}},
			check: func(r *specs.LinuxResources) bool {
				return len(r.HugepageLimits) == 2 && r.Unified["memory.high"] == "1"
			},
		},
		{
			name: "unified on v1 mapped where v1 has it", host: v1All,
			in: specs.LinuxResources{Unified: map[string]string{
				"memory.max": "1048576", "memory.swap.max": "1048576", "cpu.weight": "100", "cpu.max": "50000 100000",
				"pids.max": "42", "cpuset.cpus": "0", "memory.high": "100", "memory.low": "4096",
			}},
			check: func(r *specs.LinuxResources) bool {
				return r.Unified == nil && *r.Memory.Limit == 1048576 && *r.Memory.Swap == 2097152 &&
					*r.CPU.Shares == 2+(99*262142)/9999 && *r.CPU.Quota == 50000 && *r.CPU.Period == 100000 &&
					*r.Pids.Limit == 42 && r.CPU.Cpus == "0" && *r.Memory.Reservation == 4096
			},
			warns: 1, warnMatch: "memory.high left out: no cgroup v1 equivalent",
		},
		{
			name: "unified on v1 with a bad value", host: v1All,
			in:       specs.LinuxResources{Unified: map[string]string{"cpu.weight": "0"}},
			errField: "unified[cpu.weight]",
		},
		{
			name: "unified on v2 keeps available controllers, drops the rest", host: v2,
			in: specs.LinuxResources{Unified: map[string]string{"memory.high": "1", "rdma.max": "mlx4_0 hca_handle=2", "misc.max": "res_a 1"}},
			check: func(r *specs.LinuxResources) bool {
				return len(r.Unified) == 1 && r.Unified["memory.high"] == "1"
			},
			warns: 2, warnMatch: "controller is not available",
		},
		{
			name: "swap without accounting left out", host: &CgroupSupport{},
			in:    specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 20)), Swap: ptr(int64(2 << 20))}},
			check: func(r *specs.LinuxResources) bool { return r.Memory.Swap == nil && *r.Memory.Limit == 1<<20 },
			warns: 1, warnMatch: "swap",
		},
		{
			name: "block IO weight without a weighting scheduler left out", host: v1NoHugetlb,
			in:    specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))}},
			check: func(r *specs.LinuxResources) bool { return r.BlockIO.Weight == nil },
			warns: 1, warnMatch: "block IO",
		},
		{
			name: "realtime on v2 left out", host: v2,
			in:    specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(1000))}},
			check: func(r *specs.LinuxResources) bool { return r.CPU.RealtimeRuntime == nil },
			warns: 1, warnMatch: "realtime",
		},
		{
			name: "cpuset outside the host's CPUs refused", host: v1NoHugetlb,
			in:       specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-3"}},
			errField: "cpuset_cpus",
		},
		{
			name: "cpuset within the host kept", host: v1NoHugetlb,
			in:    specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1", Mems: "0"}},
			check: func(r *specs.LinuxResources) bool { return r.CPU.Cpus == "1" },
		},
		{
			name: "memory node outside the host refused", host: v1NoHugetlb,
			in:       specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "1"}},
			errField: "cpuset_mems",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			warn, err := FitResources(&r, tt.host)
			if tt.errField != "" {
				var ia *InvalidError
				if !errors.As(err, &ia) || !strings.Contains(err.Error(), tt.errField) {
					t.Fatalf("err = %v, want InvalidArgument naming %s", err, tt.errField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warn) != tt.warns {
				t.Fatalf("warnings %q, want %d", warn, tt.warns)
			}
			if tt.warnMatch != "" && !strings.Contains(strings.Join(warn, "\n"), tt.warnMatch) {
				t.Fatalf("warnings %q lack %q", warn, tt.warnMatch)
			}
			if tt.check != nil && !tt.check(&r) {
				t.Fatalf("resources after fit: %+v", r)
			}
		})
	}
}
