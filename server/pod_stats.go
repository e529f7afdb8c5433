package server

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
)

// PodSandboxStats reports a pod's CPU, memory, process and network usage
// and the stats of its containers.
func (s *Server) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	if req.PodSandboxId == "" {
		return nil, status.Error(codes.InvalidArgument, "pod_sandbox_id is required")
	}
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.podStats(s.obs(), sb, s.containersByPod())}, nil
}

func (s *Server) containersByPod() map[string][]*container.Container {
	out := map[string][]*container.Container{}
	for _, c := range s.containers.Snapshot() {
		out[c.PodID] = append(out[c.PodID], c)
	}
	return out
}

// podStats builds a pod's stats. The pod's own cgroup is read when it has
// one; otherwise its usage is the sum of its containers'.
func (s *Server) podStats(o *observability, sb *sandbox.Sandbox, byPod map[string][]*container.Container) *runtimeapi.PodSandboxStats {
	cfg := sb.Config
	out := &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID, Metadata: sb.Metadata(), Labels: cfg.Labels, Annotations: cfg.Annotations},
		Linux:      &runtimeapi.LinuxPodSandboxStats{},
	}
	lin := out.Linux
	sum := &stats.Sample{}
	var sumCores uint64
	haveCores, haveAny := true, false
	for _, c := range byPod[sb.ID] {
		cs := s.containerStats(o, c)
		lin.Containers = append(lin.Containers, cs)
		if c.Status().Exited {
			continue
		}
		st := o.collector.Container(stats.ContainerRef{ID: c.ID, CgroupsPath: cgroupsPathOf(c)})
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
	ps := o.collector.Pod(podRef(sb))
	switch {
	case ps.Cgroup != nil:
		lin.Cpu = cpuUsage(ps.Cgroup, ps.NanoCores, ps.HasNanoCores)
		lin.Memory = memoryUsage(ps.Cgroup)
		lin.Process = &runtimeapi.ProcessUsage{Timestamp: ps.Cgroup.Time.UnixNano(), ProcessCount: u64(ps.Cgroup.Pids)}
	case haveAny:
		lin.Cpu = cpuUsage(sum, sumCores, haveCores)
		lin.Memory = memoryUsage(sum)
		lin.Process = &runtimeapi.ProcessUsage{Timestamp: sum.Time.UnixNano(), ProcessCount: u64(sum.Pids)}
	}
	if ps.Net != nil {
		lin.Network = networkUsage(ps.Net, ps.NetTime)
	}
	return out
}

func cgroupsPathOf(c *container.Container) string {
	if r, ok := containerRef(c); ok {
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
// default) is the default interface, else the first one.
func networkUsage(devs []stats.NetDev, at time.Time) *runtimeapi.NetworkUsage {
	n := &runtimeapi.NetworkUsage{Timestamp: at.UnixNano()}
	for _, d := range devs {
		if d.Name == "lo" {
			continue
		}
		iu := &runtimeapi.NetworkInterfaceUsage{
			Name: d.Name, RxBytes: u64(d.RxBytes), RxErrors: u64(d.RxErrors), TxBytes: u64(d.TxBytes), TxErrors: u64(d.TxErrors),
		}
		n.Interfaces = append(n.Interfaces, iu)
		if d.Name == "eth0" || n.DefaultInterface == nil {
			n.DefaultInterface = iu
		}
	}
	return n
}
