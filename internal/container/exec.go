package container

import (
	"context"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/spec"
)

// ExecSync runs cmd in a running container with the container's process
// settings (user, env, caps, seccomp) and waits up to timeout.
func (m *Manager) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*oci.ExecResult, error) {
	c, proc, err := m.execProcess(id, cmd, false)
	if err != nil {
		return nil, err
	}
	rt, err := m.Runtime(c.Handler)
	if err != nil {
		return nil, err
	}
	res, err := rt.ExecSync(ctx, c.ID, c.Bundle, proc, timeout)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrUnknown, "exec in %s: %w", c.ID, err)
	}
	return res, nil
}

// execProcess derives the process spec of an exec from the container's.
func (m *Manager) execProcess(id string, cmd []string, tty bool) (*Container, *specs.Process, error) {
	c, err := m.Get(id)
	if err != nil {
		return nil, nil, err
	}
	exited, _ := m.applyExit(c)
	if exited || !c.Status().Started {
		return nil, nil, errdefs.FailedPrecondition("container %s is not running", c.ID)
	}
	if c.spec == nil || c.spec.Process == nil {
		return nil, nil, errdefs.New(errdefs.ErrInternal, "container %s has no process spec", c.ID)
	}
	p := *c.spec.Process
	p.Args, p.Terminal, p.ConsoleSize = cmd, tty, nil
	return c, &p, nil
}

// UpdateResources applies new limits to the live cgroup and the record.
func (m *Manager) UpdateResources(ctx context.Context, id string, r *runtimeapi.LinuxContainerResources) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if r == nil {
		return nil
	}
	if len(r.Unified) > 0 && !m.opts.CgroupV2 {
		return errdefs.FailedPrecondition("linux.unified: needs cgroup v2")
	}
	res := toOCIResources(r)
	warn, err := spec.FitResources(res, m.cgroupSupport())
	if err != nil {
		return err
	}
	m.logHostWarnings(logging.From(ctx), warn)
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if c.Running() {
		rt, err := m.Runtime(c.Handler)
		if err != nil {
			return err
		}
		if err := rt.Update(ctx, c.ID, res); err != nil {
			return errdefs.New(errdefs.ErrUnknown, "update resources of %s: %w", c.ID, err)
		}
	}
	return m.update(c, func(c *Container) error {
		c.Resources = mergeResources(c.Resources, res)
		return nil
	})
}

func toOCIResources(r *runtimeapi.LinuxContainerResources) *specs.LinuxResources {
	out := &specs.LinuxResources{CPU: &specs.LinuxCPU{}, Memory: &specs.LinuxMemory{}}
	if r.CpuShares > 0 {
		v := uint64(r.CpuShares)
		out.CPU.Shares = &v
	}
	if r.CpuQuota != 0 {
		out.CPU.Quota = &r.CpuQuota
	}
	if r.CpuPeriod > 0 {
		v := uint64(r.CpuPeriod)
		out.CPU.Period = &v
	}
	out.CPU.Cpus, out.CPU.Mems = r.CpusetCpus, r.CpusetMems
	if r.MemoryLimitInBytes > 0 {
		out.Memory.Limit = &r.MemoryLimitInBytes
	}
	if r.MemorySwapLimitInBytes > 0 {
		out.Memory.Swap = &r.MemorySwapLimitInBytes
	}
	for _, h := range r.HugepageLimits {
		out.HugepageLimits = append(out.HugepageLimits, specs.LinuxHugepageLimit{Pagesize: h.PageSize, Limit: h.Limit})
	}
	if len(r.Unified) > 0 {
		out.Unified = r.Unified
	}
	return out
}

func mergeResources(cur, next *specs.LinuxResources) *specs.LinuxResources {
	if cur == nil {
		return next
	}
	out := *cur
	if out.CPU == nil {
		out.CPU = &specs.LinuxCPU{}
	} else {
		cpu := *out.CPU
		out.CPU = &cpu
	}
	if out.Memory == nil {
		out.Memory = &specs.LinuxMemory{}
	} else {
		mem := *out.Memory
		out.Memory = &mem
	}
	if next.CPU.Shares != nil {
		out.CPU.Shares = next.CPU.Shares
	}
	if next.CPU.Quota != nil {
		out.CPU.Quota = next.CPU.Quota
	}
	if next.CPU.Period != nil {
		out.CPU.Period = next.CPU.Period
	}
	if next.CPU.Cpus != "" {
		out.CPU.Cpus = next.CPU.Cpus
	}
	if next.CPU.Mems != "" {
		out.CPU.Mems = next.CPU.Mems
	}
	if next.Memory.Limit != nil {
		out.Memory.Limit = next.Memory.Limit
	}
	if next.Memory.Swap != nil {
		out.Memory.Swap = next.Memory.Swap
	}
	if next.HugepageLimits != nil {
		out.HugepageLimits = next.HugepageLimits
	}
	if next.Unified != nil {
		out.Unified = next.Unified
	}
	return &out
}
