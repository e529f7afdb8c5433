package container

import (
	"os"
	"path/filepath"
	"strings"
)

// monitorCgroups lists the cgroup.procs files that put a container's monitor
// into its pod's cgroup, so the pod, not the daemon, is charged for it and a
// daemon restart (systemd KillMode) never touches it. Only existing v1 pod
// cgroups of a cgroupfs parent are used: on v2 the pod cgroup has children
// with controllers, where the no-internal-process rule forbids a process.
func monitorCgroups(parent, driver string, v2 bool) []string {
	if parent == "" || v2 || driver != "cgroupfs" || strings.Contains(parent, "..") {
		return nil
	}
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Name() == "unified" {
			continue
		}
		procs := filepath.Join("/sys/fs/cgroup", e.Name(), parent, "cgroup.procs")
		if _, err := os.Stat(procs); err == nil {
			out = append(out, procs)
		}
	}
	return out
}
