package cristats

import (
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
)

// Pod builds sb's stats with those of its containers ctrs. The pod's own
// cgroup is read when it has one; otherwise its usage is the sum of its
// containers'.
func (r Reader) Pod(sb *sandbox.Sandbox, ctrs []*container.Container) *runtimeapi.PodSandboxStats {
	cfg := sb.Config
	out := &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID, Metadata: sb.Metadata(), Labels: cfg.Labels, Annotations: cfg.Annotations},
		Linux:      &runtimeapi.LinuxPodSandboxStats{},
	}
	lin := out.Linux
	sum := &stats.Sample{}
	var sumCores uint64
	haveCores, haveAny := true, false
	for _, c := range ctrs {
		lin.Containers = append(lin.Containers, r.Container(c))
		if c.Status().Exited {
			continue
		}
		st := r.Collector.Container(stats.ContainerRef{ID: c.ID, CgroupsPath: cgroupsPathOf(c)})
		if st.Cgroup == nil {
			continue
		}
		haveAny = true
		addSample(sum, st.Cgroup)
		sumCores += st.NanoCores
		haveCores = haveCores && st.HasNanoCores
	}
	if !sb.IsReady() {
		return out
	}
	ps := r.Collector.Pod(PodRef(sb))
	switch {
	case ps.Cgroup != nil:
		lin.Cpu = cpuUsage(ps.Cgroup, ps.NanoCores, ps.HasNanoCores)
		lin.Memory = memoryUsage(ps.Cgroup)
		lin.Io = ioUsage(ps.Cgroup)
		lin.Process = &runtimeapi.ProcessUsage{Timestamp: ps.Cgroup.Time.UnixNano(), ProcessCount: U64(ps.Cgroup.Pids)}
	case haveAny:
		lin.Cpu = cpuUsage(sum, sumCores, haveCores)
		lin.Memory = memoryUsage(sum)
		lin.Process = &runtimeapi.ProcessUsage{Timestamp: sum.Time.UnixNano(), ProcessCount: U64(sum.Pids)}
	}
	if ps.Net != nil {
		lin.Network = networkUsage(ps.Net, ps.NetTime)
	}
	return out
}

func cgroupsPathOf(c *container.Container) string {
	if r, ok := ContainerRef(c); ok {
		return r.CgroupsPath
	}
	return ""
}

// addSample adds b's usage to a (limits are not summed: the pod has none
// of its own here).
func addSample(a, b *stats.Sample) {
	if b.Time.After(a.Time) {
		a.Time = b.Time
	}
	a.CPUUsageNs += b.CPUUsageNs
	a.CPUUserNs += b.CPUUserNs
	a.CPUSystemNs += b.CPUSystemNs
	a.MemUsage += b.MemUsage
	a.MemWorkingSet += b.MemWorkingSet
	a.MemRSS += b.MemRSS
	a.MemCache += b.MemCache
	a.MemInactiveFile += b.MemInactiveFile
	a.PageFaults += b.PageFaults
	a.MajorPageFaults += b.MajorPageFaults
	a.SwapUsage += b.SwapUsage
	a.Pids += b.Pids
}

// networkUsage reports every interface but loopback; eth0 (the CNI
// default) is the default interface, else the first one. Without one it
// is nil: the kubelet (1.37, PodAndContainerStatsFromCRI) reads the
// default interface of any network it gets and would crash on none.
func networkUsage(devs []stats.NetDev, at time.Time) *runtimeapi.NetworkUsage {
	n := &runtimeapi.NetworkUsage{Timestamp: at.UnixNano()}
	for _, d := range devs {
		if d.Name == "lo" {
			continue
		}
		iu := &runtimeapi.NetworkInterfaceUsage{
			Name: d.Name, RxBytes: U64(d.RxBytes), RxErrors: U64(d.RxErrors), TxBytes: U64(d.TxBytes), TxErrors: U64(d.TxErrors),
		}
		n.Interfaces = append(n.Interfaces, iu)
		if d.Name == "eth0" || n.DefaultInterface == nil {
			n.DefaultInterface = iu
		}
	}
	if n.DefaultInterface == nil {
		return nil
	}
	return n
}
