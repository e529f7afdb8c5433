package spec

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// containerEnvMounts binds the pod's empty /run/.containerenv, which tools
// (podman, systemd, toolbox) test to know they run in a container. It
// follows the root's read-only setting, as CRI-O does.
func (b *builder) containerEnvMounts() []specs.Mount {
	if b.in.ContainerEnvPath == "" {
		return nil
	}
	opts := []string{"bind", "rprivate", "nosuid", "nodev", "noexec"}
	if b.sc.GetReadonlyRootfs() {
		opts = append(opts, "ro")
	}
	return []specs.Mount{bindMount("/run/.containerenv", b.in.ContainerEnvPath, opts...)}
}

// withDefaultMasked adds the default masked paths (the configured ones when
// set) to those a request names: a request adds to the defaults rather than
// unmasking them, as CRI-O does. Sorted and without duplicates.
func withDefaultMasked(requested, configured []string) []string {
	defaults := DefaultMaskedPaths
	if configured != nil {
		defaults = configured
	}
	out := slices.Concat(defaults, requested)
	slices.Sort(out)
	return slices.Compact(out)
}
