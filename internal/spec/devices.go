package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// devices adds CRI devices (a device node or a directory of them) with
// their cgroup permissions; privileged containers get every host device
// and an allow-all device cgroup.
func (b *builder) devices() error {
	b.g.Config.Linux = ensureLinux(b.g.Config.Linux)
	if b.privileged() {
		b.g.AddLinuxResourcesDevice(true, "", nil, nil, "rwm")
		if !b.in.Runtime.PrivilegedWithoutHostDevices {
			devs, err := b.in.Host.Devices("/dev")
			if err != nil {
				return &FailedPreconditionError{Field: scField + "privileged", Msg: "cannot list host devices", Err: err}
			}
			for _, d := range devs {
				if d.Path == "/dev/ptmx" || strings.HasPrefix(d.Path, "/dev/pts/") {
					continue // the container has its own devpts
				}
				b.addDevice(d)
			}
		}
	} else {
		b.g.AddLinuxResourcesDevice(false, "", nil, nil, "rwm")
	}
	// Node-wide devices first, so a CRI device at the same path wins.
	if err := b.additionalDevices(); err != nil {
		return err
	}
	for i, cd := range b.in.Config.GetDevices() {
		field := fmt.Sprintf("devices[%d]", i)
		dst, err := containerPath(cd.GetContainerPath(), field+".container_path")
		if err != nil {
			return err
		}
		perms, err := devicePermissions(cd.GetPermissions(), field+".permissions")
		if err != nil {
			return err
		}
		hp := cd.GetHostPath()
		if !filepath.IsAbs(hp) {
			return invalid(field+".host_path", "%q is not an absolute path", hp)
		}
		devs, err := b.in.Host.Devices(filepath.Clean(hp))
		if err != nil {
			return &InvalidError{Field: field + ".host_path", Msg: fmt.Sprintf("%q is not a usable device", hp), Err: err}
		}
		if err := b.addHostDevices(devs, filepath.Clean(hp), dst, perms, field+".host_path"); err != nil {
			return err
		}
	}
	return nil
}

// addHostDevices adds the device nodes found below host path hp at dst in
// the container, allowing them in the device cgroup with perms.
func (b *builder) addHostDevices(devs []specs.LinuxDevice, hp, dst, perms, field string) error {
	if len(devs) == 0 {
		return invalid(field, "no device nodes at %q", hp)
	}
	for _, d := range devs {
		rel, err := filepath.Rel(hp, d.Path)
		if err != nil || !filepath.IsLocal(rel) {
			return invalid(field, "device %q is outside %q", d.Path, hp)
		}
		d.Path = path.Join(dst, filepath.ToSlash(rel))
		b.addDevice(d)
		if !b.privileged() {
			major, minor := d.Major, d.Minor
			b.g.AddLinuxResourcesDevice(true, d.Type, &major, &minor, perms)
		}
	}
	return nil
}

// addDevice adds or replaces a device node by container path.
func (b *builder) addDevice(d specs.LinuxDevice) {
	l := b.g.Config.Linux
	for i := range l.Devices {
		if l.Devices[i].Path == d.Path {
			l.Devices[i] = d
			return
		}
	}
	l.Devices = append(l.Devices, d)
}

// devicePermissions validates a cgroup access string; empty means "rwm".
func devicePermissions(p, field string) (string, error) {
	if p == "" {
		return "rwm", nil
	}
	seen := map[rune]bool{}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return "", invalid(field, "%q is not a combination of r, w and m", p)
		}
		seen[c] = true
	}
	return p, nil
}
