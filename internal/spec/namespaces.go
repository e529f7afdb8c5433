package spec

import (
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// namespaces joins the pod's pinned namespaces and picks the PID namespace.
func (b *builder) namespaces() error {
	sb := b.in.Sandbox
	l := ensureLinux(b.g.Config.Linux)
	b.g.Config.Linux = l
	l.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	join := func(t specs.LinuxNamespaceType, p string) {
		if p != "" {
			l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: t, Path: p})
		}
	}
	join(specs.NetworkNamespace, sb.NetNSPath)
	join(specs.IPCNamespace, sb.IPCNSPath)
	join(specs.UTSNamespace, sb.UTSNSPath)

	opts := b.sc.GetNamespaceOptions()
	if opts == nil {
		opts = b.in.SandboxConfig.GetLinux().GetSecurityContext().GetNamespaceOptions()
	}
	field := scField + "namespace_options.pid"
	mode := opts.GetPid()
	if opts == nil && sb.PIDNSPath == "" {
		// Nothing asked and no pod-wide PID namespace: a private one.
		mode = runtimeapi.NamespaceMode_CONTAINER
	}
	switch mode {
	case runtimeapi.NamespaceMode_CONTAINER:
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
	case runtimeapi.NamespaceMode_POD:
		if sb.PIDNSPath == "" {
			return precondition(field, "POD mode but the pod has no shared PID namespace")
		}
		join(specs.PIDNamespace, sb.PIDNSPath)
	case runtimeapi.NamespaceMode_NODE:
	case runtimeapi.NamespaceMode_TARGET:
		if b.in.TargetPIDNSPath == "" {
			return precondition(field, "TARGET mode but target container %q has no PID namespace", opts.GetTargetId())
		}
		join(specs.PIDNamespace, b.in.TargetPIDNSPath)
	default:
		return invalid(field, "unknown namespace mode %v", mode)
	}
	if sb.CgroupV2 {
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return nil
}

// cgroups sets the cgroups path: cgroupfs "<parent>/crio-<id>", systemd
// "<parent>.slice:crio:<id>".
func (b *builder) cgroups() error {
	parent := b.in.Sandbox.CgroupParent
	if parent == "" {
		parent = b.in.SandboxConfig.GetLinux().GetCgroupParent()
	}
	p, err := CgroupsPath(b.in.Sandbox.CgroupDriver, parent, b.in.ContainerID)
	if err != nil {
		return err
	}
	b.g.SetLinuxCgroupsPath(p)
	return nil
}

// CgroupsPath returns the OCI cgroupsPath for a container.
func CgroupsPath(driver, parent, id string) (string, error) {
	switch driver {
	case "", "cgroupfs":
		if parent == "" {
			parent = "/"
		}
		if !path.IsAbs(parent) {
			return "", invalid("linux.cgroup_parent", "%q is not an absolute cgroup path", parent)
		}
		return path.Join(parent, "crio-"+id), nil
	case "systemd":
		if parent == "" {
			parent = "system.slice"
		}
		if !strings.HasSuffix(parent, ".slice") || strings.Contains(parent, "/") {
			return "", invalid("linux.cgroup_parent", "%q is not a systemd slice name", parent)
		}
		return parent + ":crio:" + id, nil
	default:
		return "", invalid("cgroup_manager", "unknown cgroup driver %q", driver)
	}
}
