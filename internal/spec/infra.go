package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// InfraInput is what the infra (pause) process's spec is made of.
type InfraInput struct {
	Rootfs, Command, CgroupsPath string
	// Namespaces are the pod's pinned ones the infra joins; it gets a new
	// PID namespace (it is its PID 1) and a mount namespace of its own.
	Namespaces []specs.LinuxNamespace
	// BuiltinPause: Command is our own pause binary, whose syscalls are
	// known, so it runs under InfraSeccomp. A pause_image's may need others.
	BuiltinPause bool
	// PidOnlyProc: the kernel mounts a /proc that shows only processes
	// (subset=pid, Linux 5.8).
	PidOnlyProc bool
	GOARCH      string
}

// Infra is the infra process's spec: read-only root, no capabilities, no
// new privileges, the pod's pinned namespaces. Pause only waits for signals
// and reaps, so it gets as little as runc lets it have: a /proc of processes
// only where the kernel can (nothing of /proc/sys, kcore, sysrq-trigger to
// mask or make read-only, and no /sys), an empty /dev tmpfs that runc fills
// with its few default devices, and a seccomp allowlist of a few dozen
// syscalls instead of none. runc needs the /proc (it closes fds through
// /proc/self/fd) and /dev/null.
func Infra(in InfraInput) (*specs.Spec, error) {
	procOpts := []string{"nosuid", "noexec", "nodev"}
	linux := &specs.Linux{
		Namespaces:  append([]specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}, in.Namespaces...),
		CgroupsPath: in.CgroupsPath,
	}
	if in.PidOnlyProc {
		procOpts = append(procOpts, "subset=pid")
	} else {
		linux.MaskedPaths, linux.ReadonlyPaths = DefaultMaskedPaths, DefaultReadonlyPaths
	}
	if in.BuiltinPause {
		sc, err := InfraSeccomp(in.GOARCH)
		if err != nil {
			return nil, err
		}
		linux.Seccomp = sc
	}
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: in.Rootfs, Readonly: true},
		Process: &specs.Process{
			Args: []string{in.Command}, Cwd: "/", NoNewPrivileges: true,
			Capabilities: &specs.LinuxCapabilities{},
			Env:          []string{"PATH=/"},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: procOpts},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "strictatime", "mode=755", "size=64k"}},
		},
		Linux: linux,
	}, nil
}
