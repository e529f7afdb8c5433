package annotations

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/pkg/config"
)

// DeviceLookup returns the device node at a host path, or every node below
// it when it is a directory, each with its host Path (hostos.Host.Devices).
type DeviceLookup func(path string) ([]specs.LinuxDevice, error)

// ApplyToSpec puts a container's effects into its OCI spec: drops the
// disallowed annotations, adds devices with their cgroup rules, sets the
// umask, unified cgroup values, workload CPU settings, an unlimited CPU
// quota for cpu-quota.crio.io, and a writable /sys/fs/cgroup. Pod-level
// effects, the seccomp profile reference and NotApplied are the caller's.
func ApplyToSpec(s *specs.Spec, eff *Effect, devices DeviceLookup) error {
	if s == nil || eff == nil {
		return nil
	}
	for _, k := range eff.Dropped {
		delete(s.Annotations, k)
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if err := applyDevices(s.Linux, eff.Devices, devices); err != nil {
		return err
	}
	if eff.Umask != nil {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		u := *eff.Umask
		s.Process.User.Umask = &u
	}
	if len(eff.Unified) > 0 {
		r := resources(s.Linux)
		if r.Unified == nil {
			r.Unified = map[string]string{}
		}
		maps.Copy(r.Unified, eff.Unified)
	}
	if w := eff.WorkloadResources; w != nil {
		applyCPU(cpu(s.Linux), w)
	}
	if eff.CPUQuotaDisabled {
		q := int64(-1)
		cpu(s.Linux).Quota = &q
	}
	if eff.CgroupWritable {
		for i := range s.Mounts {
			m := &s.Mounts[i]
			if m.Destination == "/sys/fs/cgroup" && (m.Type == "cgroup" || m.Type == "cgroup2") {
				m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "ro" || o == "rw" })
				m.Options = append(m.Options, "rw")
			}
		}
	}
	return nil
}

func applyCPU(c *specs.LinuxCPU, w *Resources) {
	if w.CPUSet != "" {
		c.Cpus = w.CPUSet
	}
	if w.CPUShares != 0 {
		v := w.CPUShares
		c.Shares = &v
	}
	if w.CPUQuota != 0 {
		v := w.CPUQuota
		c.Quota = &v
	}
	if w.CPUPeriod != 0 {
		v := w.CPUPeriod
		c.Period = &v
	}
}

func applyDevices(l *specs.Linux, devs []Device, lookup DeviceLookup) error {
	for _, d := range devs {
		if lookup == nil {
			return bad(Devices, "no device lookup for %s", d.HostPath)
		}
		nodes, err := lookup(d.HostPath)
		if err != nil {
			return &Error{Annotation: Devices, Msg: fmt.Sprintf("%s is not a usable device", d.HostPath), Err: err}
		}
		if len(nodes) == 0 {
			return bad(Devices, "no device nodes at %s", d.HostPath)
		}
		for _, n := range nodes {
			rel, err := filepath.Rel(d.HostPath, n.Path)
			if err != nil || !filepath.IsLocal(rel) {
				return bad(Devices, "device %s is outside %s", n.Path, d.HostPath)
			}
			n.Path = path.Join(d.ContainerPath, filepath.ToSlash(rel))
			addDevice(l, n)
			major, minor := n.Major, n.Minor
			r := resources(l)
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: n.Type, Major: &major, Minor: &minor, Access: d.Permissions})
		}
	}
	return nil
}

// addDevice adds or replaces a device node by container path.
func addDevice(l *specs.Linux, d specs.LinuxDevice) {
	for i := range l.Devices {
		if l.Devices[i].Path == d.Path {
			l.Devices[i] = d
			return
		}
	}
	l.Devices = append(l.Devices, d)
}

func resources(l *specs.Linux) *specs.LinuxResources {
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	return l.Resources
}

func cpu(l *specs.Linux) *specs.LinuxCPU {
	r := resources(l)
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	return r.CPU
}

// ValidateConfig checks what CRI-O checks at start: every handler's and
// workload's allowed_annotations are known names; a workload has an
// activation annotation and sane default resources.
func ValidateConfig(c *config.Config) error {
	for _, name := range slices.Sorted(maps.Keys(c.Crio.Runtime.Runtimes)) {
		if h := c.Crio.Runtime.Runtimes[name]; h != nil {
			if err := ValidateAllowed(h.AllowedAnnotations); err != nil {
				return fmt.Errorf("crio.runtime.runtimes.%s.allowed_annotations: %w", name, err)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Crio.Runtime.Workloads)) {
		w := c.Crio.Runtime.Workloads[name]
		if w == nil {
			continue
		}
		field := "crio.runtime.workloads." + name
		if w.ActivationAnnotation == "" {
			return fmt.Errorf("%s.activation_annotation must be set", field)
		}
		if err := ValidateAllowed(w.AllowedAnnotations); err != nil {
			return fmt.Errorf("%s.allowed_annotations: %w", field, err)
		}
		if r := w.Resources; r != nil {
			if err := validCPUSet(r.CPUSet); err != nil {
				return fmt.Errorf("%s.resources.cpuset %q: %w", field, r.CPUSet, err)
			}
			if r.CPUQuota != 0 && r.CPUQuota < int64(r.CPUShares) {
				return fmt.Errorf("%s.resources: cpuquota %d is less than cpushares %d", field, r.CPUQuota, r.CPUShares)
			}
			if r.CPUPeriod != 0 && r.CPUPeriod < minCPUQuota {
				return fmt.Errorf("%s.resources.cpuperiod %d is below %d microseconds", field, r.CPUPeriod, minCPUQuota)
			}
		}
	}
	return nil
}
