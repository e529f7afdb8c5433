package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const usernsField = scField + "namespace_options.userns_options"

// userns puts the container in its pod's user namespace, when the pod has
// one: the runtime joins it (its mappings are the namespace's, so the spec
// carries none, as runc asks), host directories are idmapped so their files
// keep their owners inside, and /sys is bound from the host when the pod
// shares the host's network namespace, which a user namespace cannot mount
// a fresh sysfs for. Capabilities then hold only inside the namespace.
func (b *builder) userns() error {
	p := b.in.Sandbox.UserNSPath
	u := b.sc.GetNamespaceOptions().GetUsernsOptions()
	if p == "" {
		if u != nil && u.GetMode() != runtimeapi.NamespaceMode_NODE {
			return precondition(usernsField, "the pod has no user namespace (its mode is NODE), so a container cannot have one")
		}
		return nil
	}
	if u != nil && u.GetMode() != runtimeapi.NamespaceMode_POD {
		return invalid(usernsField+".mode", "the pod has its own user namespace, which its containers join (POD); got %s", u.GetMode())
	}
	l := ensureLinux(b.g.Config.Linux)
	b.g.Config.Linux = l
	l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: p})
	if b.in.Sandbox.NetNSPath == "" {
		for i, m := range b.g.Config.Mounts {
			if m.Destination == "/sys" && m.Type == "sysfs" {
				opts := []string{"rbind", "nosuid", "noexec", "nodev", "ro"}
				if b.privileged() {
					opts[len(opts)-1] = "rw"
				}
				b.g.Config.Mounts[i] = bindMount("/sys", "/sys", opts...)
			}
		}
	}
	return nil
}

// idmapped makes a bind mount of a host directory an idmapped one in a pod
// with a user namespace: with the mount's own mappings when the CRI mount
// has them, else the pod's (the runtime takes them from the namespace it
// joins). Files owned by uid N on the host then show as uid N inside, and
// files the container creates land on the host with the container's ids.
func (b *builder) idmapped(m specs.Mount, cri *runtimeapi.Mount) specs.Mount {
	if b.in.Sandbox.UserNSPath == "" {
		return m
	}
	if cri != nil && cri.GetImage() != nil {
		return m // an image mount is an overlay, which cannot be idmapped
	}
	m.Options = append(m.Options, "idmap")
	if cri != nil && (len(cri.GetUidMappings()) > 0 || len(cri.GetGidMappings()) > 0) {
		m.UIDMappings, m.GIDMappings = ociIDMaps(cri.GetUidMappings()), ociIDMaps(cri.GetGidMappings())
	}
	return m
}

func ociIDMaps(ms []*runtimeapi.IDMapping) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, 0, len(ms))
	for _, m := range ms {
		out = append(out, specs.LinuxIDMapping{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetLength()})
	}
	return out
}
