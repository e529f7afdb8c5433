package stats

import (
	"fmt"
	"sync"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// FsInfo is the size of the filesystem holding a directory (the storage
// graph root, where writable layers live).
type FsInfo struct {
	Device     string // mount source, e.g. /dev/sda1 or overlay
	Capacity   uint64
	Available  uint64
	Inodes     uint64
	InodesFree uint64
}

var mountSources sync.Map // st_dev -> mount source

// Filesystem statfs's path and names its device.
func Filesystem(path string) (FsInfo, error) {
	var sf unix.Statfs_t
	if err := unix.Statfs(path, &sf); err != nil {
		return FsInfo{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(sf.Bsize)
	out := FsInfo{Capacity: sf.Blocks * bs, Available: sf.Bavail * bs, Inodes: sf.Files, InodesFree: sf.Ffree}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		dev := uint64(st.Dev) //nolint:unconvert // Dev is uint32 on some arches
		if v, ok := mountSources.Load(dev); ok {
			out.Device = v.(string)
		} else if mounts, err := mountinfo.GetMounts(firstOfDevice(unix.Major(dev), unix.Minor(dev))); err == nil {
			if len(mounts) > 0 {
				out.Device = mounts[0].Source
			}
			mountSources.Store(dev, out.Device)
		}
	}
	return out, nil
}

// firstOfDevice keeps the first mount of device major:minor.
func firstOfDevice(major, minor uint32) mountinfo.FilterFunc {
	return func(m *mountinfo.Info) (skip, stop bool) {
		hit := m.Major == int(major) && m.Minor == int(minor)
		return !hit, hit
	}
}
