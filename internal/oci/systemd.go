package oci

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// SystemdRunning reports whether systemd is PID 1 (and can manage cgroups).
func SystemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// ExpandSlice turns a systemd slice name into the cgroupfs path systemd
// would give it: "kubepods-besteffort-pod1.slice" is
// "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice".
func ExpandSlice(slice string) (string, error) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || strings.Contains(slice, "/") {
		return "", fmt.Errorf("%q is not a slice name", slice)
	}
	if name == "-" {
		return "/", nil
	}
	out, prefix := "/", ""
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			return "", fmt.Errorf("%q is not a valid slice name", slice)
		}
		prefix += part
		out = path.Join(out, prefix+".slice")
		prefix += "-"
	}
	return out, nil
}

// CgroupfsPath maps a runc systemd cgroups path "slice:prefix:name" onto the
// same place in cgroupfs ("<expanded slice>/<prefix>-<name>.scope"), so the
// systemd naming works on hosts where systemd does not run.
func CgroupfsPath(systemdPath string) (string, error) {
	parts := strings.Split(systemdPath, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("%q is not slice:prefix:name", systemdPath)
	}
	slice := parts[0]
	if slice == "" {
		slice = "system.slice"
	}
	dir, err := ExpandSlice(slice)
	if err != nil {
		return "", err
	}
	return path.Join(dir, parts[1]+"-"+parts[2]+".scope"), nil
}
