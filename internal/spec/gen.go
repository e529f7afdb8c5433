package spec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// generator is a small stand-in for runtime-tools' generate.Generator with
// the same method names. runtime-tools' generate imports its validate
// package, whose dependencies (gojsonschema, gocapability, go-multierror,
// semver) are not in this module; the few setters needed are kept here.
type generator struct {
	Config *specs.Spec
}

func newGenerator() *generator {
	return &generator{Config: &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{},
		Process: &specs.Process{},
		Linux:   &specs.Linux{Resources: &specs.LinuxResources{}},
	}}
}

func (g *generator) res() *specs.LinuxResources { return g.Config.Linux.Resources }

func (g *generator) cpu() *specs.LinuxCPU {
	if g.res().CPU == nil {
		g.res().CPU = &specs.LinuxCPU{}
	}
	return g.res().CPU
}

func (g *generator) mem() *specs.LinuxMemory {
	if g.res().Memory == nil {
		g.res().Memory = &specs.LinuxMemory{}
	}
	return g.res().Memory
}

func (g *generator) AddAnnotation(k, v string) {
	if g.Config.Annotations == nil {
		g.Config.Annotations = map[string]string{}
	}
	g.Config.Annotations[k] = v
}

func (g *generator) AddLinuxResourcesDevice(allow bool, typ string, major, minor *int64, access string) {
	g.res().Devices = append(g.res().Devices, specs.LinuxDeviceCgroup{
		Allow: allow, Type: typ, Major: major, Minor: minor, Access: access,
	})
}

func (g *generator) AddLinuxResourcesHugepageLimit(size string, limit uint64) {
	for i, h := range g.res().HugepageLimits {
		if h.Pagesize == size {
			g.res().HugepageLimits[i].Limit = limit
			return
		}
	}
	g.res().HugepageLimits = append(g.res().HugepageLimits, specs.LinuxHugepageLimit{Pagesize: size, Limit: limit})
}

func (g *generator) AddLinuxSysctl(k, v string) {
	if g.Config.Linux.Sysctl == nil {
		g.Config.Linux.Sysctl = map[string]string{}
	}
	g.Config.Linux.Sysctl[k] = v
}

func (g *generator) AddProcessRlimits(typ string, hard, soft uint64) {
	p := g.Config.Process
	for i := range p.Rlimits {
		if p.Rlimits[i].Type == typ {
			p.Rlimits[i].Hard, p.Rlimits[i].Soft = hard, soft
			return
		}
	}
	p.Rlimits = append(p.Rlimits, specs.POSIXRlimit{Type: typ, Hard: hard, Soft: soft})
}

func (g *generator) SetLinuxCgroupsPath(p string)         { g.Config.Linux.CgroupsPath = p }
func (g *generator) SetLinuxMountLabel(l string)          { g.Config.Linux.MountLabel = l }
func (g *generator) SetLinuxResourcesCPUCpus(s string)    { g.cpu().Cpus = s }
func (g *generator) SetLinuxResourcesCPUMems(s string)    { g.cpu().Mems = s }
func (g *generator) SetLinuxResourcesCPUPeriod(v uint64)  { g.cpu().Period = &v }
func (g *generator) SetLinuxResourcesCPUQuota(v int64)    { g.cpu().Quota = &v }
func (g *generator) SetLinuxResourcesCPUShares(v uint64)  { g.cpu().Shares = &v }
func (g *generator) SetLinuxResourcesMemoryLimit(v int64) { g.mem().Limit = &v }
func (g *generator) SetLinuxResourcesMemorySwap(v int64)  { g.mem().Swap = &v }
func (g *generator) SetLinuxResourcesPidsLimit(v int64) {
	g.res().Pids = &specs.LinuxPids{Limit: &v}
}

func (g *generator) SetLinuxRootPropagation(p string) error {
	switch p {
	case "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
		g.Config.Linux.RootfsPropagation = p
		return nil
	}
	return fmt.Errorf("rootfs propagation %q is not valid", p)
}

func (g *generator) SetProcessApparmorProfile(p string) { g.Config.Process.ApparmorProfile = p }
func (g *generator) SetProcessArgs(a []string)          { g.Config.Process.Args = a }
func (g *generator) SetProcessCwd(c string)             { g.Config.Process.Cwd = c }
func (g *generator) SetProcessGID(gid uint32)           { g.Config.Process.User.GID = gid }
func (g *generator) SetProcessUID(uid uint32)           { g.Config.Process.User.UID = uid }
func (g *generator) SetProcessNoNewPrivileges(b bool)   { g.Config.Process.NoNewPrivileges = b }
func (g *generator) SetProcessOOMScoreAdj(v int)        { g.Config.Process.OOMScoreAdj = &v }
func (g *generator) SetProcessSelinuxLabel(l string)    { g.Config.Process.SelinuxLabel = l }
func (g *generator) SetProcessTerminal(t bool)          { g.Config.Process.Terminal = t }
func (g *generator) SetRootPath(p string)               { g.Config.Root.Path = p }
func (g *generator) SetRootReadonly(r bool)             { g.Config.Root.Readonly = r }
