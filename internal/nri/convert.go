package nri

import (
	api "github.com/containerd/nri/pkg/adaptation"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
)

// podToNRI is the NRI view of a pod record.
func podToNRI(sb *sandbox.Sandbox) *api.PodSandbox {
	md := sb.Metadata()
	cfg := sb.Config.PodSandboxConfig
	p := &api.PodSandbox{
		Id: sb.ID, Name: md.GetName(), Uid: md.GetUid(), Namespace: md.GetNamespace(),
		Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(), RuntimeHandler: sb.RuntimeHandler,
		Ips: sb.IPs,
		Linux: &api.LinuxPodSandbox{
			CgroupParent: sb.CgroupParent,
			PodOverhead:  criToNRI(cfg.GetLinux().GetOverhead()),
			PodResources: criToNRI(cfg.GetLinux().GetResources()),
		},
	}
	for kind, path := range sb.NamespacePaths() {
		p.Linux.Namespaces = append(p.Linux.Namespaces, &api.LinuxNamespace{Type: nsType(kind), Path: path})
	}
	if sb.InfraPID > 0 {
		p.Pid = uint32(sb.InfraPID)
	}
	return p
}

func nsType(kind sandbox.NS) string {
	if kind == sandbox.NetNS {
		return "network"
	}
	return string(kind)
}

// ctrToNRI is the NRI view of a container: its record and its OCI spec
// (the spec being built, at create).
func ctrToNRI(c *container.Container, spec *specs.Spec) *api.Container {
	st := c.Status()
	cfg := c.Config.ContainerConfig
	out := &api.Container{
		Id: c.ID, PodSandboxId: c.PodID, Name: c.Metadata().GetName(), State: nriState(st),
		Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		CreatedAt: c.CreatedAt, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
		ExitCode: st.ExitCode, StatusReason: st.Reason, StatusMessage: st.Message,
		Linux: &api.LinuxContainer{Resources: api.FromOCILinuxResources(st.Resources, nil)},
	}
	if c.Pid > 0 {
		out.Pid = uint32(c.Pid)
	}
	if spec == nil {
		return out
	}
	if len(spec.Annotations) > 0 {
		out.Annotations = spec.Annotations
	}
	out.Mounts = api.FromOCIMounts(spec.Mounts)
	out.Hooks = api.FromOCIHooks(spec.Hooks)
	if p := spec.Process; p != nil {
		out.Args, out.Env = p.Args, p.Env
		for _, r := range p.Rlimits {
			out.Rlimits = append(out.Rlimits, &api.POSIXRlimit{Type: r.Type, Hard: r.Hard, Soft: r.Soft})
		}
		if p.OOMScoreAdj != nil {
			out.Linux.OomScoreAdj = api.Int(*p.OOMScoreAdj)
		}
		out.User = &api.User{Uid: p.User.UID, Gid: p.User.GID, AdditionalGids: p.User.AdditionalGids}
	}
	if l := spec.Linux; l != nil {
		out.Linux.Namespaces = api.FromOCILinuxNamespaces(l.Namespaces)
		out.Linux.Devices = api.FromOCILinuxDevices(l.Devices)
		out.Linux.CgroupsPath = l.CgroupsPath
		out.Linux.Sysctl = l.Sysctl
		if l.Resources != nil {
			out.Linux.Resources = api.FromOCILinuxResources(l.Resources, nil)
		}
	}
	return out
}

func nriState(st container.Record) api.ContainerState {
	switch st.State() {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		return api.ContainerState_CONTAINER_RUNNING
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		return api.ContainerState_CONTAINER_STOPPED
	default:
		return api.ContainerState_CONTAINER_CREATED
	}
}

// criToNRI converts CRI resources (pod resources, UpdateContainerResources).
func criToNRI(r *runtimeapi.LinuxContainerResources) *api.LinuxResources {
	if r == nil {
		return nil
	}
	out := &api.LinuxResources{
		Cpu:     &api.LinuxCPU{Cpus: r.CpusetCpus, Mems: r.CpusetMems},
		Memory:  &api.LinuxMemory{},
		Unified: r.Unified,
	}
	if r.CpuShares > 0 {
		out.Cpu.Shares = api.UInt64(uint64(r.CpuShares))
	}
	if r.CpuQuota != 0 {
		out.Cpu.Quota = api.Int64(r.CpuQuota)
	}
	if r.CpuPeriod > 0 {
		out.Cpu.Period = api.UInt64(uint64(r.CpuPeriod))
	}
	if r.MemoryLimitInBytes > 0 {
		out.Memory.Limit = api.Int64(r.MemoryLimitInBytes)
	}
	if r.MemorySwapLimitInBytes > 0 {
		out.Memory.Swap = api.Int64(r.MemorySwapLimitInBytes)
	}
	for _, h := range r.HugepageLimits {
		out.HugepageLimits = append(out.HugepageLimits, &api.HugepageLimit{PageSize: h.PageSize, Limit: h.Limit})
	}
	return out
}

// nriToCRI converts NRI resources (a plugin's update) to the CRI form the
// UpdateContainerResources path applies. Fields the plugin left unset stay
// zero, which that path leaves unchanged.
func nriToCRI(r *api.LinuxResources) *runtimeapi.LinuxContainerResources {
	out := &runtimeapi.LinuxContainerResources{Unified: r.GetUnified()}
	if c := r.GetCpu(); c != nil {
		out.CpuShares = int64(c.GetShares().GetValue())
		out.CpuQuota = c.GetQuota().GetValue()
		out.CpuPeriod = int64(c.GetPeriod().GetValue())
		out.CpusetCpus, out.CpusetMems = c.GetCpus(), c.GetMems()
	}
	if m := r.GetMemory(); m != nil {
		out.MemoryLimitInBytes = m.GetLimit().GetValue()
		out.MemorySwapLimitInBytes = m.GetSwap().GetValue()
	}
	for _, h := range r.GetHugepageLimits() {
		out.HugepageLimits = append(out.HugepageLimits, &runtimeapi.HugepageLimit{PageSize: h.PageSize, Limit: h.Limit})
	}
	return out
}
