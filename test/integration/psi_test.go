package integration

import (
	"fmt"
	"testing"

	occgroups "github.com/opencontainers/cgroups"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestContainerStatsCarryPSI: where the kernel keeps PSI for cgroups (v2,
// or a hybrid host's unified hierarchy, as here) ContainerStats carries
// the container's CPU, memory and IO pressure, which the kubelet's
// summary API reports (KubeletPSI).
func TestContainerStatsCarryPSI(t *testing.T) {
	if !occgroups.IsCgroup2UnifiedMode() && !occgroups.IsCgroup2HybridMode() {
		t.Skip("no cgroup2 hierarchy: no per-cgroup PSI")
	}
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "psi")
	id := e.create(t, podID, podCfg, "busy", "sh", "-c", "while :; do :; done")
	e.start(t, id)
	ctx := framework.Ctx(t)
	waitFor(t, "PSI in ContainerStats", func() (bool, string) {
		r, err := e.d.Runtime.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: id})
		if err != nil {
			t.Fatalf("ContainerStats: %v", err)
		}
		s := r.Stats
		cpu, mem, io := s.GetCpu().GetPsi(), s.GetMemory().GetPsi(), s.GetIo().GetPsi()
		ok := cpu.GetSome() != nil && cpu.GetFull() != nil && mem.GetSome() != nil && io.GetSome() != nil && s.GetIo().GetTimestamp() > 0
		return ok, fmt.Sprintf("cpu %v memory %v io %v", cpu, mem, s.GetIo())
	})
}
