package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultMaskedPaths are hidden from unprivileged containers.
var DefaultMaskedPaths = []string{
	"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap", "/proc/interrupts", "/proc/asound",
}

// DefaultReadonlyPaths are read-only in unprivileged containers.
var DefaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// Propagation modes reported in PropagationNeed.Mode.
const (
	PropagationShared = "shared"
	PropagationSlave  = "slave"
)

// filesystem sets the root, default mounts, pod files, CRI mounts, image
// volumes and the masked/read-only paths.
func (b *builder) filesystem() error {
	b.g.SetRootPath(b.in.RootfsPath)
	b.g.SetRootReadonly(b.sc.GetReadonlyRootfs())

	user, rootProp, err := b.criMounts()
	if err != nil {
		return err
	}
	vols, err := b.imageVolumes(user)
	if err != nil {
		return err
	}
	user = append(user, vols...)
	taken := map[string]bool{}
	for _, m := range user {
		taken[m.Destination] = true
	}
	var mounts []specs.Mount
	extra := append(append(b.defaultMounts(), b.podFileMounts()...), b.containerEnvMounts()...)
	for _, m := range append(extra, b.in.NodeMounts...) {
		if !taken[m.Destination] {
			mounts = append(mounts, m)
		}
	}
	// Parents before children, so a mount is never hidden by a later one.
	sort.SliceStable(user, func(i, j int) bool { return depth(user[i].Destination) < depth(user[j].Destination) })
	b.g.Config.Mounts = append(mounts, user...)
	if rootProp != "" {
		if err := b.g.SetLinuxRootPropagation(rootProp); err != nil {
			return err
		}
	}
	return b.maskedPaths()
}

func depth(p string) int { return strings.Count(path.Clean(p), "/") }

func (b *builder) ipcHost() bool { return b.in.Sandbox.IPCNSPath == "" }

// hostHas reports whether path exists on the host.
func (b *builder) hostHas(path string) bool {
	if b.in.Host == nil {
		return false
	}
	_, err := b.in.Host.EvalSymlinks(path)
	return err == nil
}

func (b *builder) defaultMounts() []specs.Mount {
	ro := "ro"
	if b.privileged() {
		ro = "rw"
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", ro}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", ro}},
	}
	if b.ipcHost() && b.hostHas("/dev/mqueue") {
		// Host IPC: show the host's queues where the host mounts them; a
		// fresh mqueue mount in the host IPC namespace shows the same ones.
		mounts[3] = bindMount("/dev/mqueue", "/dev/mqueue", "rbind", "nosuid", "noexec", "nodev")
	}
	if shm := b.in.Sandbox.ShmPath; shm != "" {
		mounts = append(mounts, bindMount("/dev/shm", shm, "rbind", "nosuid", "noexec", "nodev"))
	} else {
		mounts = append(mounts, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	return mounts
}

// podFileMounts binds the pod's hostname, hosts and resolv.conf.
func (b *builder) podFileMounts() []specs.Mount {
	sb := b.in.Sandbox
	var out []specs.Mount
	for _, f := range []struct{ dst, src string }{
		{"/etc/hostname", sb.HostnamePath}, {"/etc/hosts", sb.HostsPath}, {"/etc/resolv.conf", sb.ResolvConfPath},
	} {
		if f.src == "" {
			continue
		}
		opts := []string{"bind", "rprivate", "nosuid", "nodev", "noexec"}
		if b.sc.GetReadonlyRootfs() {
			opts = append(opts, "ro")
		}
		out = append(out, bindMount(f.dst, f.src, opts...))
	}
	return out
}

func bindMount(dst, src string, opts ...string) specs.Mount {
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

// allowedMountOptions may come in Mount.mount_options.
var allowedMountOptions = map[string]bool{
	"noexec": true, "exec": true, "nodev": true, "dev": true, "nosuid": true, "suid": true,
	"noatime": true, "atime": true, "nodiratime": true, "diratime": true, "relatime": true,
	"norelatime": true, "strictatime": true, "nostrictatime": true, "nosymfollow": true,
}

// criMounts converts the CRI mounts and returns the root propagation they
// need ("rshared" beats "rslave").
func (b *builder) criMounts() ([]specs.Mount, string, error) {
	var out []specs.Mount
	seen := map[string]bool{}
	rootProp := ""
	for i, m := range b.in.Config.GetMounts() {
		field := fmt.Sprintf("mounts[%d]", i)
		dst, err := containerPath(m.GetContainerPath(), field+".container_path")
		if err != nil {
			return nil, "", err
		}
		if seen[dst] {
			return nil, "", invalid(field+".container_path", "duplicate mount point %q", dst)
		}
		seen[dst] = true
		if (len(m.GetUidMappings()) > 0 || len(m.GetGidMappings()) > 0) && b.in.Sandbox.UserNSPath == "" {
			return nil, "", precondition(field, "id-mapped mounts need a pod with its own user namespace")
		}
		src, err := b.mountSource(m, field)
		if err != nil {
			return nil, "", err
		}
		opts := []string{"rbind"}
		if m.GetReadonly() {
			opts = append(opts, "ro")
		} else {
			opts = append(opts, "rw")
		}
		if m.GetRecursiveReadOnly() {
			if !m.GetReadonly() || m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE {
				return nil, "", invalid(field+".recursive_read_only", "needs readonly and private propagation")
			}
			if !b.in.Runtime.RecursiveReadOnly {
				return nil, "", precondition(field+".recursive_read_only", "recursive read-only mounts are not supported by this runtime")
			}
			opts = append(opts, "rro")
		}
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
			opts = append(opts, "rprivate")
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			opts = append(opts, "rslave")
			b.needPropagation(src, PropagationSlave)
			if rootProp == "" {
				rootProp = "rslave"
			}
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			opts = append(opts, "rshared")
			b.needPropagation(src, PropagationShared)
			rootProp = "rshared"
		default:
			return nil, "", invalid(field+".propagation", "unknown propagation %v", m.GetPropagation())
		}
		for j, o := range m.GetMountOptions() {
			if !allowedMountOptions[o] {
				return nil, "", invalid(fmt.Sprintf("%s.mount_options[%d]", field, j), "option %q is not allowed", o)
			}
			opts = append(opts, o)
		}
		out = append(out, b.idmapped(bindMount(dst, src, opts...), m))
	}
	return out, rootProp, nil
}

func (b *builder) needPropagation(p, mode string) {
	b.res.Propagation = append(b.res.Propagation, PropagationNeed{Path: p, Mode: mode})
}

// procFileMounts are the /proc files a bind mount may cover, those runc
// 1.1 allows (lxcfs serves container-aware versions of them); all else
// under /proc is refused.
var procFileMounts = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/sys/kernel/ns_last_pid": true,
}

// containerPath validates a path inside the container.
func containerPath(p, field string) (string, error) {
	if !path.IsAbs(p) {
		return "", invalid(field, "%q is not an absolute path", p)
	}
	c := path.Clean(p)
	switch {
	case c == "/":
		return "", invalid(field, "cannot mount over the container root")
	case (c == "/proc" || strings.HasPrefix(c, "/proc/")) && !procFileMounts[c]:
		return "", invalid(field, "cannot mount over %s", c)
	}
	return c, nil
}

// mountSource resolves a CRI mount's host side: an image mount prepared by
// the caller or a host path with symlinks resolved.
func (b *builder) mountSource(m *runtimeapi.Mount, field string) (string, error) {
	if ref := m.GetImage().GetImage(); ref != "" {
		if m.GetHostPath() != "" {
			return "", invalid(field+".host_path", "must be empty for an image mount")
		}
		if !m.GetReadonly() {
			return "", invalid(field+".readonly", "image mounts are read-only")
		}
		root, ok := b.in.ImageMounts[ref]
		if !ok {
			return "", precondition(field+".image", "image %q is not mounted", ref)
		}
		sub := m.GetImageSubPath()
		if sub == "" {
			return root, nil
		}
		if path.IsAbs(sub) || !filepath.IsLocal(sub) {
			return "", invalid(field+".image_sub_path", "%q must be a relative path inside the image", sub)
		}
		resolved, err := b.in.Host.EvalSymlinks(filepath.Join(root, sub))
		if err != nil {
			return "", &InvalidError{Field: field + ".image_sub_path", Msg: fmt.Sprintf("%q not found in image %s", sub, ref), Err: err}
		}
		if rel, err := filepath.Rel(root, resolved); err != nil || !filepath.IsLocal(rel) {
			return "", invalid(field+".image_sub_path", "%q leaves the image", sub)
		}
		return resolved, nil
	}
	hp := m.GetHostPath()
	if !filepath.IsAbs(hp) {
		return "", invalid(field+".host_path", "%q is not an absolute path", hp)
	}
	resolved, err := b.in.Host.EvalSymlinks(filepath.Clean(hp))
	if err != nil {
		if isNotExist(err) {
			return b.absentSource(filepath.Clean(hp), field)
		}
		return "", &InvalidError{Field: field + ".host_path", Msg: fmt.Sprintf("cannot resolve host path %q", hp), Err: err}
	}
	return resolved, nil
}

// imageVolumes applies image_volumes to the image's VOLUMEs not already
// covered by a CRI mount.
func (b *builder) imageVolumes(user []specs.Mount) ([]specs.Mount, error) {
	mode := b.in.Runtime.ImageVolumes
	if mode == "" {
		mode = ImageVolumesMkdir
	}
	switch mode {
	case ImageVolumesMkdir, ImageVolumesBind, ImageVolumesIgnore:
	default:
		return nil, invalid("image_volumes", "%q is not mkdir, bind or ignore", mode)
	}
	if mode == ImageVolumesIgnore {
		return nil, nil
	}
	taken := map[string]bool{}
	for _, m := range user {
		taken[m.Destination] = true
	}
	var out []specs.Mount
	for _, v := range b.in.Image.Volumes {
		if !path.IsAbs(v) {
			// Images built elsewhere list "C:/dir" or ":x": like CRI-O, place
			// the entry under the root rather than fail the container.
			b.warn(fmt.Sprintf("image volume %q is not absolute; placed at %q", v, path.Clean("/"+v)))
			v = "/" + v
		}
		dst := path.Clean(v)
		if taken[dst] || dst == "/" {
			continue
		}
		taken[dst] = true
		if mode == ImageVolumesMkdir {
			b.res.VolumeDirs = append(b.res.VolumeDirs, filepath.Join(b.in.RootfsPath, dst))
			continue
		}
		if !filepath.IsAbs(b.in.VolumeBindDir) {
			return nil, precondition("image_volumes", "bind mode needs a volume directory for the container")
		}
		src := filepath.Join(b.in.VolumeBindDir, dst)
		b.res.VolumeDirs = append(b.res.VolumeDirs, src)
		out = append(out, b.idmapped(bindMount(dst, src, "rbind", "rw", "rprivate"), nil))
	}
	return out, nil
}

// maskedPaths applies masked and read-only paths: the CRI lists when the
// kubelet sent any, else the runtime's, else the defaults; none when
// privileged.
func (b *builder) maskedPaths() error {
	if b.privileged() {
		return nil
	}
	pick := func(cri, configured, def []string, field string) ([]string, error) {
		if len(cri) > 0 {
			for i, p := range cri {
				if !path.IsAbs(p) {
					return nil, invalid(fmt.Sprintf("%s%s[%d]", scField, field, i), "%q is not an absolute path", p)
				}
			}
			return append([]string{}, cri...), nil
		}
		if configured != nil {
			return append([]string{}, configured...), nil
		}
		return append([]string{}, def...), nil
	}
	masked, err := pick(b.sc.GetMaskedPaths(), b.in.Runtime.MaskedPaths, DefaultMaskedPaths, "masked_paths")
	if err != nil {
		return err
	}
	if len(b.sc.GetMaskedPaths()) > 0 {
		masked = withDefaultMasked(masked, b.in.Runtime.MaskedPaths)
	}
	ro, err := pick(b.sc.GetReadonlyPaths(), b.in.Runtime.ReadonlyPaths, DefaultReadonlyPaths, "readonly_paths")
	if err != nil {
		return err
	}
	b.g.Config.Linux = ensureLinux(b.g.Config.Linux)
	b.g.Config.Linux.MaskedPaths = masked
	b.g.Config.Linux.ReadonlyPaths = ro
	return nil
}
