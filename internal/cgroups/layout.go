// Package cgroups owns where pod and container cgroups live (the mounts,
// the cgroupfs and systemd naming) and the daemon's writes to them.
// internal/stats reads them.
package cgroups

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	occgroups "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/systemd"

	"github.com/crio-runtime/crio/internal/oci"
)

// Layout says where the cgroup controllers are mounted.
type Layout struct {
	// Unified is a pure cgroup v2 host; V2Root is then the only mount.
	Unified bool
	V2Root  string
	// V1 maps a controller (memory, cpu, cpuacct, cpuset, pids, blkio) to its
	// mount on a v1 or hybrid host.
	V1 map[string]string
	// Hybrid is the unified (cgroup2) mount of a hybrid host: it holds no
	// controllers, but the kernel keeps each cgroup's PSI there.
	Hybrid string
}

// DetectLayout finds this process's cgroup mounts (opencontainers/cgroups
// reads mountinfo); a hybrid host (v1 controllers plus a unified mount) is
// treated as v1, where the controllers live.
func DetectLayout() (Layout, error) {
	if occgroups.IsCgroup2UnifiedMode() {
		return Layout{Unified: true, V2Root: "/sys/fs/cgroup"}, nil
	}
	mounts, err := occgroups.GetCgroupMounts(false)
	if err != nil {
		return Layout{}, fmt.Errorf("find cgroup mounts: %w", err)
	}
	l := Layout{V1: map[string]string{}}
	for _, m := range mounts {
		for _, c := range m.Subsystems {
			if l.V1[c] == "" {
				l.V1[c] = m.Mountpoint
			}
		}
	}
	if len(l.V1) == 0 {
		return Layout{}, fmt.Errorf("no cgroup mount found")
	}
	if occgroups.IsCgroup2HybridMode() {
		l.Hybrid = "/sys/fs/cgroup/unified"
	}
	return l, nil
}

// Dir is the directory of controller ctl for the cgroup rel (ctl is ignored
// on a pure v2 host). It is empty when the controller is not mounted.
func (l Layout) Dir(ctl, rel string) string {
	if l.Unified {
		return filepath.Join(l.V2Root, rel)
	}
	m := l.V1[ctl]
	if m == "" {
		return ""
	}
	return filepath.Join(m, rel)
}

// ContainerCgroup turns an OCI cgroupsPath into a path relative to the
// cgroup mounts: "<parent>/crio-<id>" stays, and the systemd form
// "<slice>:<prefix>:<name>" becomes "<expanded slice>/<prefix>-<name>.scope".
func ContainerCgroup(cgroupsPath string) (string, error) {
	if cgroupsPath == "" {
		return "", fmt.Errorf("empty cgroups path")
	}
	if parts := strings.Split(cgroupsPath, ":"); len(parts) == 3 && !strings.HasPrefix(cgroupsPath, "/") {
		return oci.CgroupfsPath(cgroupsPath)
	}
	return path.Clean("/" + cgroupsPath), nil
}

// PodCgroup turns a pod's cgroup_parent into a relative cgroup path for the
// driver. It is "" when the pod has no cgroup of its own.
func PodCgroup(parent, driver string) (string, error) {
	if parent == "" {
		return "", nil
	}
	if driver == "systemd" || strings.HasSuffix(parent, ".slice") {
		return systemd.ExpandSlice(parent)
	}
	p := path.Clean("/" + parent)
	if p == "/" {
		return "", nil
	}
	return p, nil
}
