package spec

import (
	"fmt"
	"path/filepath"
)

// absentSource handles a CRI mount whose host path does not exist: as in
// CRI-O it is created as a directory, unless absent_mount_sources_to_reject
// lists it (a file such as /etc/hostname must not turn into a directory).
func (b *builder) absentSource(hp, field string) (string, error) {
	for _, r := range b.in.Runtime.AbsentMountSourcesToReject {
		if filepath.Clean(r) == hp {
			return "", invalid(field+".host_path", "cannot mount %s: path does not exist and will not be created as a directory (absent_mount_sources_to_reject)", hp)
		}
	}
	b.res.MountSourceDirs = append(b.res.MountSourceDirs, hp)
	return hp, nil
}

// additionalDevices adds the node's additional_devices to every container.
func (b *builder) additionalDevices() error {
	for i, d := range b.in.Runtime.AdditionalDevices {
		field := fmt.Sprintf("additional_devices[%d]", i)
		if !filepath.IsAbs(d.HostPath) {
			return precondition(field, "%q is not an absolute path", d.HostPath)
		}
		dst := d.ContainerPath
		if dst == "" {
			dst = d.HostPath
		}
		dst, err := containerPath(dst, field)
		if err != nil {
			return err
		}
		perms, err := devicePermissions(d.Permissions, field)
		if err != nil {
			return err
		}
		hp := filepath.Clean(d.HostPath)
		devs, err := b.in.Host.Devices(hp)
		if err != nil {
			return &FailedPreconditionError{Field: field, Msg: fmt.Sprintf("%q is not a usable device", hp), Err: err}
		}
		if err := b.addHostDevices(devs, hp, dst, perms, field); err != nil {
			return err
		}
	}
	return nil
}
