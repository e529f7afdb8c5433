package container

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// mountOf returns the mount point that holds path and its optional fields
// (shared:N, master:N) from /proc/self/mountinfo.
func mountOf(path string) (string, string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", "", err
	}
	holds := func(m *mountinfo.Info) (skip, stop bool) {
		mp := m.Mountpoint
		return real != mp && !strings.HasPrefix(real, strings.TrimSuffix(mp, "/")+"/"), false
	}
	mounts, err := mountinfo.GetMounts(holds)
	if err != nil {
		return "", "", err
	}
	var best *mountinfo.Info
	for _, m := range mounts { // the last of equal length is the one on top
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	if best == nil {
		return "", "", fmt.Errorf("no mount holds %s", path)
	}
	return best.Mountpoint, best.Optional, nil
}

func hasOpt(opts, prefix string) bool {
	for _, o := range strings.Fields(opts) {
		if strings.HasPrefix(o, prefix) {
			return true
		}
	}
	return false
}
