package cristats

import (
	"testing"
	"time"

	occgroups "github.com/opencontainers/cgroups"

	"github.com/crio-runtime/crio/internal/stats"
)

// TestPSIInCRIStats: the kubelet's summary API takes a container's CPU,
// memory and IO pressure from these fields (KubeletPSI); a sample without
// PSI leaves them unset.
func TestPSIInCRIStats(t *testing.T) {
	now := time.Now()
	s := &stats.Sample{Time: now}
	if cpu, mem, io := cpuUsage(s, 0, false), memoryUsage(s), ioUsage(s); cpu.Psi != nil || mem.Psi != nil || io != nil {
		t.Fatalf("without PSI: %v %v %v", cpu.Psi, mem.Psi, io)
	}
	some := occgroups.PSIData{Avg10: 1.5, Avg60: 0.5, Avg300: 0.1, Total: 3000}
	s.Pressure = &stats.Pressure{
		CPU:    &occgroups.PSIStats{Some: some, Full: occgroups.PSIData{Total: 1000}},
		Memory: &occgroups.PSIStats{},
		IO:     &occgroups.PSIStats{Some: occgroups.PSIData{Total: 7}},
	}
	cpu := cpuUsage(s, 0, false)
	if p := cpu.Psi; p == nil || p.Some.Total != 3000 || p.Some.Avg10 != 1.5 || p.Some.Avg60 != 0.5 || p.Some.Avg300 != 0.1 || p.Full.Total != 1000 {
		t.Errorf("cpu psi %v", cpu.Psi)
	}
	if mem := memoryUsage(s); mem.Psi == nil || mem.Psi.Full == nil || mem.Psi.Some == nil {
		t.Errorf("memory psi %v", mem.Psi)
	}
	if io := ioUsage(s); io == nil || io.Timestamp != now.UnixNano() || io.Psi.Some.Total != 7 {
		t.Errorf("io %v", io)
	}
}

// TestNetworkUsageNeedsAnInterface: a pod whose namespace shows only lo
// (its network not set up yet) gets no network at all: the kubelet 1.37
// with PodAndContainerStatsFromCRI dereferences the default interface of
// any network it gets, and crashed on ours (the whole node conformance
// set, session 16). eth0 is the default when there.
func TestNetworkUsageNeedsAnInterface(t *testing.T) {
	now := time.Now()
	for _, devs := range [][]stats.NetDev{nil, {}, {{Name: "lo", RxBytes: 10}}} {
		if n := networkUsage(devs, now); n != nil {
			t.Errorf("%v: network %v, want none", devs, n)
		}
	}
	n := networkUsage([]stats.NetDev{{Name: "lo"}, {Name: "net1", RxBytes: 1}, {Name: "eth0", RxBytes: 2}}, now)
	if n == nil || n.DefaultInterface.GetName() != "eth0" || len(n.Interfaces) != 2 {
		t.Fatalf("network %v", n)
	}
	n = networkUsage([]stats.NetDev{{Name: "net1", RxBytes: 1}}, now)
	if n == nil || n.DefaultInterface.GetName() != "net1" {
		t.Fatalf("network %v", n)
	}
}
