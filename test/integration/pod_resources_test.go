package integration

import (
	"crypto/rand"
	"encoding/hex"
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
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("checks the cgroup v1 files")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	parent := "/crt-pod-" + hex.EncodeToString(b[:])
	// Registered before the daemon so it runs after the pods are removed.
	t.Cleanup(func() {
		for _, c := range []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio", "systemd", "hugetlb", "net_cls", "perf_event"} {
			_ = os.Remove(filepath.Join("/sys/fs/cgroup", c, parent))
		}
		_ = os.Remove(filepath.Join("/sys/fs/cgroup/unified", parent))
	})
	// The pod cgroup as the kubelet leaves a pod with a container without
	// limits: no CPU quota, no memory limit.
	files := []string{"cpu" + parent + "/cpu.shares", "cpu" + parent + "/cpu.cfs_quota_us", "memory" + parent + "/memory.limit_in_bytes"}
	want := map[string]string{}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join("/sys/fs/cgroup", f)), 0o755); err != nil {
			t.Fatal(err)
		}
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
	e := newEnv(t, registry.Image{})
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
}
