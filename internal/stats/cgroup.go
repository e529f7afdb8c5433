// Package stats reads container and pod resource usage from the cgroups
// (v1 and v2) and the pods' network namespaces, and keeps the latest
// samples in a collector so list calls never touch more files than needed.
package stats

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

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
}

// DetectLayout reads this process's mounts.
func DetectLayout() (Layout, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Layout{}, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	return parseMountinfo(f)
}

var v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "hugetlb", "blkio"}

// parseMountinfo finds the cgroup mounts; a hybrid host (v1 controllers
// plus a unified mount) is treated as v1, where the controllers live.
func parseMountinfo(r io.Reader) (Layout, error) {
	l := Layout{V1: map[string]string{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mnt := unescapeMount(f[4])
		switch g[0] {
		case "cgroup2":
			if l.V2Root == "" {
				l.V2Root = mnt
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				for _, c := range v1Controllers {
					if opt == c && l.V1[c] == "" {
						l.V1[c] = mnt
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Layout{}, err
	}
	if len(l.V1) == 0 {
		if l.V2Root == "" {
			return Layout{}, fmt.Errorf("no cgroup mount found")
		}
		l.Unified = true
	}
	return l, nil
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline, backslash.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// dir is the directory of controller ctl for the cgroup rel ("" on a pure
// v2 host means the unified tree). It is empty when the controller is absent.
func (l Layout) dir(ctl, rel string) string {
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
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) == 3 && !strings.HasPrefix(cgroupsPath, "/") {
		slice, err := oci.ExpandSlice(parts[0])
		if err != nil {
			return "", err
		}
		unit := parts[2]
		if !strings.HasSuffix(unit, ".slice") {
			unit = parts[1] + "-" + unit + ".scope"
		}
		return path.Join(slice, unit), nil
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
		return oci.ExpandSlice(parent)
	}
	p := path.Clean("/" + parent)
	if p == "/" {
		return "", nil
	}
	return p, nil
}
