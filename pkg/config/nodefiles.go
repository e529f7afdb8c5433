package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Device is one additional_devices entry.
type Device struct {
	HostPath, ContainerPath, Permissions string
}

// ParseDevice reads CRI-O's "<host>[:<container>][:<perms>]" form; a
// missing container path is the host path, missing perms are "rwm".
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	d := Device{HostPath: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		// "<host>:<perms>" or "<host>:<container>".
		if isDeviceMode(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.ContainerPath = parts[1]
		}
	case 3:
		d.ContainerPath, d.Permissions = parts[1], parts[2]
	default:
		return d, fmt.Errorf("%q has more than three fields", s)
	}
	if !filepath.IsAbs(d.HostPath) {
		return d, fmt.Errorf("host path %q is not absolute", d.HostPath)
	}
	if d.ContainerPath == "" {
		if len(parts) == 3 {
			return d, fmt.Errorf("%q has an empty container path", s)
		}
		d.ContainerPath = d.HostPath
	}
	if !filepath.IsAbs(d.ContainerPath) {
		return d, fmt.Errorf("container path %q is not absolute", d.ContainerPath)
	}
	if !isDeviceMode(d.Permissions) {
		return d, fmt.Errorf("permissions %q are not a combination of r, w and m", d.Permissions)
	}
	return d, nil
}

func isDeviceMode(m string) bool {
	if m == "" {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range m {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// IsLocalTimezone reports whether tz asks for the host's /etc/localtime.
func IsLocalTimezone(tz string) bool { return strings.EqualFold(tz, "local") }

// validateNodeFiles checks the keys that add node files and devices to
// every container, so a typo fails at start rather than at each create.
func (c *Config) validateNodeFiles() error {
	r := c.Crio.Runtime
	for _, s := range r.AdditionalDevices {
		if _, err := ParseDevice(s); err != nil {
			return bad("crio.runtime.additional_devices", s, "%v", err)
		}
	}
	if tz := r.Timezone; tz != "" && !IsLocalTimezone(tz) {
		if !filepath.IsLocal(tz) {
			return bad("crio.runtime.timezone", tz, "must be \"Local\" or a zone name such as Europe/Berlin")
		}
		if _, err := time.LoadLocation(tz); err != nil {
			return bad("crio.runtime.timezone", tz, "unknown timezone: %v", err)
		}
	}
	for _, d := range r.HooksDir {
		if !filepath.IsAbs(d) {
			return bad("crio.runtime.hooks_dir", d, "must be an absolute path")
		}
	}
	for _, d := range r.CDISpecDirs {
		if !filepath.IsAbs(d) {
			return bad("crio.runtime.cdi_spec_dirs", d, "must be an absolute path")
		}
	}
	if f := r.DefaultMountsFile; f != "" && !filepath.IsAbs(f) {
		return bad("crio.runtime.default_mounts_file", f, "must be an absolute path")
	}
	return nil
}
