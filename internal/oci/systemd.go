package oci

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/opencontainers/cgroups/systemd"
)

// SystemdRunning reports whether systemd is PID 1 (and can manage cgroups).
func SystemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// CgroupfsPath maps a runc systemd cgroups path "slice:prefix:name" onto the
// same place in cgroupfs ("<expanded slice>/<prefix>-<name>.scope", or
// "<expanded slice>/<name>" when name is itself a slice), so the systemd
// naming works on hosts where systemd does not run. Slices expand as
// opencontainers/cgroups' systemd driver expands them.
func CgroupfsPath(systemdPath string) (string, error) {
	parts := strings.Split(systemdPath, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("%q is not slice:prefix:name", systemdPath)
	}
	slice := parts[0]
	if slice == "" {
		slice = "system.slice"
	}
	dir, err := systemd.ExpandSlice(slice)
	if err != nil {
		return "", err
	}
	unit := parts[2]
	if !strings.HasSuffix(unit, ".slice") {
		unit = parts[1] + "-" + unit + ".scope"
	}
	return path.Join(dir, unit), nil
}
