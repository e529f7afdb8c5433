package nri

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specGen edits an OCI spec in place through the methods NRI's spec
// generator (nri/pkg/runtime-tools/generate) calls on its underlying
// generator; internal/spec stays a pure function of its inputs.
type specGen struct{ s *specs.Spec }

func (g specGen) Spec() *specs.Spec { return g.s }

func (g specGen) linux() *specs.Linux {
	if g.s.Linux == nil {
		g.s.Linux = &specs.Linux{}
	}
	return g.s.Linux
}

func (g specGen) res() *specs.LinuxResources {
	if g.linux().Resources == nil {
		g.s.Linux.Resources = &specs.LinuxResources{}
	}
	return g.s.Linux.Resources
}

func (g specGen) cpu() *specs.LinuxCPU {
	if g.res().CPU == nil {
		g.s.Linux.Resources.CPU = &specs.LinuxCPU{}
	}
	return g.s.Linux.Resources.CPU
}

func (g specGen) mem() *specs.LinuxMemory {
	if g.res().Memory == nil {
		g.s.Linux.Resources.Memory = &specs.LinuxMemory{}
	}
	return g.s.Linux.Resources.Memory
}

func (g specGen) proc() *specs.Process {
	if g.s.Process == nil {
		g.s.Process = &specs.Process{}
	}
	return g.s.Process
}

func (g specGen) hooks() *specs.Hooks {
	if g.s.Hooks == nil {
		g.s.Hooks = &specs.Hooks{}
	}
	return g.s.Hooks
}

func (g specGen) AddAnnotation(key, value string) {
	if g.s.Annotations == nil {
		g.s.Annotations = map[string]string{}
	}
	g.s.Annotations[key] = value
}

func (g specGen) RemoveAnnotation(key string) { delete(g.s.Annotations, key) }

func (g specGen) AddDevice(d specs.LinuxDevice) {
	l := g.linux()
	for i := range l.Devices {
		if l.Devices[i].Path == d.Path {
			l.Devices[i] = d
			return
		}
	}
	l.Devices = append(l.Devices, d)
}

func (g specGen) RemoveDevice(path string) {
	l := g.linux()
	l.Devices = slices.DeleteFunc(l.Devices, func(d specs.LinuxDevice) bool { return d.Path == path })
}

func (g specGen) AddLinuxResourcesDevice(allow bool, devType string, major, minor *int64, access string) {
	r := g.res()
	r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: allow, Type: devType, Major: major, Minor: minor, Access: access})
}

func (g specGen) AddOrReplaceLinuxNamespace(ns, path string) error {
	l := g.linux()
	t := specs.LinuxNamespaceType(ns)
	for i := range l.Namespaces {
		if l.Namespaces[i].Type == t {
			l.Namespaces[i].Path = path
			return nil
		}
	}
	l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: t, Path: path})
	return nil
}

func (g specGen) RemoveLinuxNamespace(ns string) error {
	l := g.linux()
	l.Namespaces = slices.DeleteFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return string(n.Type) == ns })
	return nil
}

func (g specGen) AddPreStartHook(h specs.Hook) {
	hk := g.hooks()
	hk.Prestart = append(hk.Prestart, h) //nolint:staticcheck // NRI still relays prestart hooks
}
func (g specGen) AddPostStartHook(h specs.Hook) {
	hk := g.hooks()
	hk.Poststart = append(hk.Poststart, h)
}
func (g specGen) AddPostStopHook(h specs.Hook) { hk := g.hooks(); hk.Poststop = append(hk.Poststop, h) }

func (g specGen) AddProcessEnv(name, value string) {
	p := g.proc()
	kv := name + "=" + value
	for i, e := range p.Env {
		if len(e) > len(name) && e[:len(name)+1] == name+"=" {
			p.Env[i] = kv
			return
		}
	}
	p.Env = append(p.Env, kv)
}

func (g specGen) ClearProcessEnv()              { g.proc().Env = nil }
func (g specGen) SetProcessArgs(args []string)  { g.proc().Args = args }
func (g specGen) SetProcessOOMScoreAdj(adj int) { g.proc().OOMScoreAdj = &adj }

func (g specGen) AddLinuxResourcesHugepageLimit(pageSize string, limit uint64) {
	r := g.res()
	for i := range r.HugepageLimits {
		if r.HugepageLimits[i].Pagesize == pageSize {
			r.HugepageLimits[i].Limit = limit
			return
		}
	}
	r.HugepageLimits = append(r.HugepageLimits, specs.LinuxHugepageLimit{Pagesize: pageSize, Limit: limit})
}

func (g specGen) AddLinuxResourcesUnified(key, val string) {
	r := g.res()
	if r.Unified == nil {
		r.Unified = map[string]string{}
	}
	r.Unified[key] = val
}

func (g specGen) AddMount(m specs.Mount) { g.s.Mounts = append(g.s.Mounts, m) }
func (g specGen) ClearMounts()           { g.s.Mounts = nil }
func (g specGen) Mounts() []specs.Mount  { return g.s.Mounts }

func (g specGen) RemoveMount(dest string) {
	g.s.Mounts = slices.DeleteFunc(g.s.Mounts, func(m specs.Mount) bool { return m.Destination == dest })
}

func (g specGen) AddLinuxSysctl(key, value string) {
	l := g.linux()
	if l.Sysctl == nil {
		l.Sysctl = map[string]string{}
	}
	l.Sysctl[key] = value
}

func (g specGen) RemoveLinuxSysctl(key string) { delete(g.linux().Sysctl, key) }

func (g specGen) SetLinuxCgroupsPath(path string) { g.linux().CgroupsPath = path }

func (g specGen) SetLinuxResourcesCPUCpus(cpus string)        { g.cpu().Cpus = cpus }
func (g specGen) SetLinuxResourcesCPUMems(mems string)        { g.cpu().Mems = mems }
func (g specGen) SetLinuxResourcesCPUPeriod(v uint64)         { g.cpu().Period = &v }
func (g specGen) SetLinuxResourcesCPUQuota(v int64)           { g.cpu().Quota = &v }
func (g specGen) SetLinuxResourcesCPURealtimePeriod(v uint64) { g.cpu().RealtimePeriod = &v }
func (g specGen) SetLinuxResourcesCPURealtimeRuntime(v int64) { g.cpu().RealtimeRuntime = &v }
func (g specGen) SetLinuxResourcesCPUShares(v uint64)         { g.cpu().Shares = &v }
func (g specGen) SetLinuxResourcesMemoryLimit(v int64)        { g.mem().Limit = &v }
func (g specGen) SetLinuxResourcesMemorySwap(v int64)         { g.mem().Swap = &v }

func (g specGen) SetLinuxRootPropagation(rp string) error {
	switch rp {
	case "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
		g.linux().RootfsPropagation = rp
		return nil
	}
	return fmt.Errorf("rootfs propagation %q is not valid", rp)
}
