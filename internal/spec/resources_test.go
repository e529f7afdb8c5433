package spec

import (
	"errors"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestValidateResources(t *testing.T) {
	good := []*runtimeapi.LinuxContainerResources{
		nil,
		{},
		{CpuShares: 2, CpuQuota: -1, CpuPeriod: 100000, MemoryLimitInBytes: 1 << 20, MemorySwapLimitInBytes: -1, CpusetCpus: "0-1,3", CpusetMems: "0", OomScoreAdj: -1000},
		{Unified: map[string]string{"memory.high": "max", "memory.oom.group": "1", "hugetlb.2MB.max": "0", "cpu.max": "max 100000"}},
		{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 0}}},
	}
	for i, r := range good {
		if err := ValidateResources(r, "linux."); err != nil {
			t.Errorf("good[%d]: %v", i, err)
		}
	}
	for name, tc := range map[string]struct {
		r     *runtimeapi.LinuxContainerResources
		field string
	}{
		"negative shares":   {&runtimeapi.LinuxContainerResources{CpuShares: -1}, "linux.cpu_shares"},
		"negative period":   {&runtimeapi.LinuxContainerResources{CpuPeriod: -1}, "linux.cpu_period"},
		"negative memory":   {&runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}, "linux.memory_limit_in_bytes"},
		"quota -5":          {&runtimeapi.LinuxContainerResources{CpuQuota: -5}, "linux.cpu_quota"},
		"quota 10":          {&runtimeapi.LinuxContainerResources{CpuQuota: 10}, "linux.cpu_quota"},
		"period 10":         {&runtimeapi.LinuxContainerResources{CpuPeriod: 10}, "linux.cpu_period"},
		"cpuset zz":         {&runtimeapi.LinuxContainerResources{CpusetCpus: "zz"}, "linux.cpuset_cpus"},
		"mems zz":           {&runtimeapi.LinuxContainerResources{CpusetMems: "zz"}, "linux.cpuset_mems"},
		"swap -2":           {&runtimeapi.LinuxContainerResources{MemorySwapLimitInBytes: -2}, "linux.memory_swap_limit_in_bytes"},
		"swap below limit":  {&runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 10 << 20, MemorySwapLimitInBytes: 1 << 20}, "linux.memory_swap_limit_in_bytes"},
		"page size":         {&runtimeapi.LinuxContainerResources{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "huge"}}}, "linux.hugepage_limits[0].page_size"},
		"unknown unified":   {&runtimeapi.LinuxContainerResources{Unified: map[string]string{"bogus.key": "1"}}, "linux.unified"},
		"cgroup.procs":      {&runtimeapi.LinuxContainerResources{Unified: map[string]string{"cgroup.procs": "1"}}, "linux.unified"},
		"unified escape":    {&runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory.max/../../x": "1"}}, "linux.unified"},
		"unified no dot":    {&runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory": "1"}}, "linux.unified"},
		"unified value nl":  {&runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory.max": "1\n2"}}, "linux.unified[memory.max]"},
		"oom_score_adj big": {&runtimeapi.LinuxContainerResources{OomScoreAdj: 1001}, "linux.oom_score_adj"},
	} {
		err := ValidateResources(tc.r, "linux.")
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.HasPrefix(ie.Field, tc.field) {
			t.Errorf("%s: %v, want an InvalidError on %s", name, err, tc.field)
		}
	}
}
