package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestPodResourcesLeaveThePodCgroupAlone: the pod cgroup is the
// kubelet's (it makes it before RunPodSandbox and resizes it itself), so
// neither RunPodSandbox's nor UpdatePodSandboxResources' resources are
// written to it. The kubelet sends the sum of the limits that are set: a
// pod whose second container has no limit would be capped at the first's.
func TestPodResourcesLeaveThePodCgroupAlone(t *testing.T) {
	framework.RequireRoot(t)
	e := newEnv(t, registry.Image{})
	parent := cgroupParent(t, e) // skips without cgroup v1
	// The pod cgroup as the kubelet leaves a pod with a container without
	// limits (cgroupParent makes it): no CPU quota, no memory limit.
	files := []string{"cpu" + parent + "/cpu.shares", "cpu" + parent + "/cpu.cfs_quota_us", "memory" + parent + "/memory.limit_in_bytes"}
	want := map[string]string{}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", f))
		if err != nil {
			t.Fatal(err)
		}
		want[f] = strings.TrimSpace(string(got))
	}
	unchanged := func(when string) {
		t.Helper()
		for _, f := range files {
			got, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", f))
			if err != nil || strings.TrimSpace(string(got)) != want[f] {
				t.Errorf("%s: %s = %q (%v), want it left at %s", when, f, got, err, want[f])
			}
		}
	}
	cfg := framework.PodConfig("res")
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "res")
	cfg.Linux.CgroupParent = parent
	cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 256 << 20}
	cfg.Linux.Overhead = &runtimeapi.LinuxContainerResources{CpuShares: 2, CpuQuota: 10000, MemoryLimitInBytes: 16 << 20}
	podID, _ := runPod(t, e.d, cfg)
	id := e.create(t, podID, cfg, "sleeper", "sleep", "1000")
	e.start(t, id)
	unchanged("after RunPodSandbox")
	ctx := framework.Ctx(t)
	// A lower quota than a running child's would be refused by the kernel
	// (EINVAL), which the kubelet reads as the runtime refusing a resize.
	_, err := e.d.Runtime.UpdatePodSandboxResources(ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: podID,
		Resources:    &runtimeapi.LinuxContainerResources{CpuShares: 256, CpuPeriod: 100000, CpuQuota: 20000, MemoryLimitInBytes: 128 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	unchanged("after UpdatePodSandboxResources")
	_, err = e.d.Runtime.UpdatePodSandboxResources(ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown pod: %v, want NotFound", err)
	}
	// Gone before cgroupParent's cleanup removes the cgroups.
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
}
