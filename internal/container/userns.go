package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containers/storage"
	"github.com/containers/storage/pkg/idtools"
	"github.com/containers/storage/types"

	"github.com/crio-runtime/crio/internal/sandbox"
)

// layerOptions asks storage for a rootfs shifted into the pod's user
// namespace: where the kernel idmaps overlay lower layers, the image layers
// are mounted idmapped (no copy) and the container's own layer is owned by
// the pod's root, so files keep the owners the image gave them. nil for a
// pod without a user namespace.
func layerOptions(u *sandbox.Userns) *storage.ContainerOptions {
	if u == nil {
		return nil
	}
	return &storage.ContainerOptions{IDMappingOptions: types.IDMappingOptions{
		UIDMap: storageMaps(u.UIDs), GIDMap: storageMaps(u.GIDs),
	}}
}

func storageMaps(ms []sandbox.IDMap) []idtools.IDMap {
	out := make([]idtools.IDMap, 0, len(ms))
	for _, m := range ms {
		out = append(out, idtools.IDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

// exposeRootfs lets the pod's root reach rootfs: the runtime's init mounts
// it from inside the user namespace, where the daemon's 0700 directories
// (storage's graph and run roots, the run dir) owned by the host's root
// cannot be searched. Each root-owned directory from such a root down to
// rootfs's parent gets the search bit for others; listing stays denied, and
// the layer directories (0700, owned by the host's root or the pod's) stay
// closed to other users.
func (m *Manager) exposeRootfs(rootfs string, u *sandbox.Userns) error {
	if u == nil {
		return nil
	}
	st := m.storage()
	for _, root := range []string{st.GraphRoot(), st.RunRoot(), m.opts.RunDir} {
		rel, err := filepath.Rel(root, filepath.Dir(rootfs))
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		dir := root
		for _, part := range append([]string{""}, strings.Split(rel, "/")...) {
			dir = filepath.Join(dir, part)
			if err := searchable(dir); err != nil {
				return fmt.Errorf("make %s searchable for the pod's user namespace: %w", dir, err)
			}
		}
	}
	return nil
}

// searchable adds the search bit for others to dir when the host's root
// owns it; a directory owned by the pod's root (its layer's) is searchable
// to it already and stays closed to everyone else.
func searchable(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || st.Uid != 0 || fi.Mode().Perm()&0o001 != 0 {
		return nil
	}
	return os.Chmod(dir, fi.Mode().Perm()|0o001)
}

// ownerOnHost is the host owner of a directory the daemon creates in the
// rootfs of a pod with a user namespace for the container's uid and gid:
// the container's own layer is not idmapped, so it stores host ids. Ids
// the pod does not map stay as they are (the pod sees them as nobody).
func ownerOnHost(uid, gid uint32, u *sandbox.Userns) (uint32, uint32) {
	if u == nil {
		return uid, gid
	}
	if h, ok := sandbox.HostID(u.UIDs, uid); ok {
		uid = h
	}
	if h, ok := sandbox.HostID(u.GIDs, gid); ok {
		gid = h
	}
	return uid, gid
}
