package stats

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

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
		} else if f, err := os.Open("/proc/self/mountinfo"); err == nil {
			out.Device = mountSource(f, unix.Major(dev), unix.Minor(dev))
			f.Close()
			mountSources.Store(dev, out.Device)
		}
	}
	return out, nil
}

// mountSource finds the source of the first mount of device major:minor
// in a mountinfo file ("" when none).
func mountSource(r io.Reader, major, minor uint32) string {
	want := fmt.Sprintf("%d:%d", major, minor)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 3 || len(g) < 2 || f[2] != want {
			continue
		}
		return unescapeMount(g[1])
	}
	return ""
}
