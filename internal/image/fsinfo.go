package image

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/crio-runtime/crio/internal/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerUsageTTL bounds how often a writable layer is re-measured:
// writable layers change, but walking them on every kubelet poll is too
// costly on a busy node.
const containerUsageTTL = 10 * time.Second

type usage struct {
	bytes, inodes uint64
	at            time.Time
}

// fsCache remembers per-layer usage. Image layers are immutable, so each is
// measured once; writable (container) layers are re-measured after a TTL.
// It also keeps the last sums: they stand until the layer or container
// store changes (their lock tokens, see lockTokens) or a writable layer is
// due again, so a poll of an unchanged store takes none of storage's locks.
type fsCache struct {
	mu     sync.Mutex
	layers map[string]usage
	opened bool       // locks were tried
	locks  lockTokens // layers.lock and containers.lock; none: no sums kept
	stamp  []byte     // their tokens when img and ctr were summed
	img    usage
	ctr    usage
	until  time.Time // when the first writable layer in ctr is due
}

// openFsLocks opens the layer and container stores' lock files, once
// storage made them (its stores load on first use). No sums are kept when
// the driver names extra stores or a lock cannot be opened. Holds s.fs.mu.
func (s *Service) openFsLocks() {
	if s.fs.opened {
		return
	}
	s.fs.opened = true
	for _, o := range s.opts.DriverOptions {
		if strings.Contains(strings.ToLower(o), "imagestore") {
			return
		}
	}
	prefix := s.store.GraphDriverName() + "-"
	paths := []string{filepath.Join(s.store.GraphRoot(), prefix+"layers", "layers.lock")}
	if is := s.store.ImageStore(); is != "" {
		paths = append(paths, filepath.Join(is, prefix+"layers", "layers.lock"))
	}
	ctrRoot := s.store.GraphRoot()
	if s.store.TransientStore() {
		ctrRoot = s.store.RunRoot()
	}
	paths = append(paths, filepath.Join(ctrRoot, prefix+"containers", "containers.lock"))
	locks, err := openLockTokens(paths)
	if err != nil {
		s.log.Warn("filesystem usage is summed on every call", "err", err)
		return
	}
	s.fs.locks = locks
}

// closeFsLocks closes the lock files for good (Shutdown).
func (s *Service) closeFsLocks() {
	s.fs.mu.Lock()
	s.fs.locks.close()
	s.fs.locks, s.fs.opened, s.fs.stamp = nil, true, nil
	s.fs.mu.Unlock()
}

// FsInfo reports the store's usage: image layers as ImageFilesystems and
// container writable layers as ContainerFilesystems. The filesystem ids are
// the ones CRI-O reports: without an image store both name
// <root>/<driver>-images (one filesystem, so the kubelet does not split);
// with one, images name <imagestore>/<driver>-images and containers
// <root>/<driver>-containers, two filesystems the kubelet watches apart.
func (s *Service) FsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	s.waitReapsDone() // usage reflects the removes already answered
	img, ctr, err := s.fsUsage(time.Now())
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	imgMount, ctrMount := s.fsMountpoints()
	mk := func(u usage, mountpoint string) []*runtimeapi.FilesystemUsage {
		return []*runtimeapi.FilesystemUsage{{
			Timestamp:  now,
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: mountpoint},
			UsedBytes:  &runtimeapi.UInt64Value{Value: u.bytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: u.inodes},
		}}
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: mk(img, imgMount), ContainerFilesystems: mk(ctr, ctrMount)}, nil
}

// fsUsage sums the image and the writable layers, or returns the last sums
// while they stand.
func (s *Service) fsUsage(now time.Time) (img, ctr usage, _ error) {
	s.fs.mu.Lock()
	stamp := s.fs.locks.read() // before the lists: never newer than what they show
	if stamp != nil && bytes.Equal(stamp, s.fs.stamp) && now.Before(s.fs.until) {
		img, ctr = s.fs.img, s.fs.ctr
		s.fs.mu.Unlock()
		return img, ctr, nil
	}
	s.fs.mu.Unlock()
	layers, err := s.store.Layers()
	if err != nil {
		return img, ctr, errdefs.New(errdefs.ErrInternal, "list layers: %w", err)
	}
	containers, err := s.store.Containers()
	if err != nil {
		return img, ctr, errdefs.New(errdefs.ErrInternal, "list containers: %w", err)
	}
	writable := make(map[string]bool, len(containers))
	for _, c := range containers {
		writable[c.LayerID] = true
	}
	until := now.Add(100 * 365 * 24 * time.Hour) // no writable layer: until a change
	live := make(map[string]bool, len(layers))
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	for _, l := range layers {
		live[l.ID] = true
		u, ok := s.fs.layers[l.ID]
		stale := !ok || (writable[l.ID] && now.Sub(u.at) >= containerUsageTTL)
		if stale {
			u = s.measureLayer(l.ID, l.UncompressedSize, !writable[l.ID])
			u.at = now
			s.fs.layers[l.ID] = u
		}
		if writable[l.ID] {
			ctr.bytes += u.bytes
			ctr.inodes += u.inodes
			if due := u.at.Add(containerUsageTTL); due.Before(until) {
				until = due
			}
		} else {
			img.bytes += u.bytes
			img.inodes += u.inodes
		}
	}
	for id := range s.fs.layers {
		if !live[id] {
			delete(s.fs.layers, id)
		}
	}
	s.fs.stamp, s.fs.img, s.fs.ctr, s.fs.until = stamp, img, ctr, until
	s.openFsLocks() // the lists made the stores: the next call reads tokens
	return img, ctr, nil
}

// fsMountpoints names the image and container filesystems as CRI-O does.
func (s *Service) fsMountpoints() (images, containers string) {
	driver := s.store.GraphDriverName()
	if is := s.store.ImageStore(); is != "" {
		return filepath.Join(is, driver+"-images"), filepath.Join(s.store.GraphRoot(), driver+"-containers")
	}
	images = filepath.Join(s.store.GraphRoot(), driver+"-images")
	return images, images
}

// measureLayer walks a layer's own directory (its diff for overlay, its
// full tree for vfs); image layers live under the image store when one is
// set. Unknown drivers fall back to the recorded diff size.
func (s *Service) measureLayer(id string, diffSize int64, imageLayer bool) usage {
	roots := []string{s.store.GraphRoot()}
	if is := s.store.ImageStore(); is != "" && imageLayer {
		roots = []string{is, s.store.GraphRoot()}
	}
	for _, root := range roots {
		var dir string
		switch s.store.GraphDriverName() {
		case "overlay", "overlay2":
			dir = filepath.Join(root, "overlay", id, "diff")
		case "vfs":
			dir = filepath.Join(root, "vfs", "dir", id)
		}
		if dir == "" {
			break
		}
		if u, ok := measureDir(dir); ok {
			return u
		}
	}
	var u usage
	if diffSize > 0 {
		u.bytes = uint64(diffSize)
	}
	return u
}

// inodeKey names one inode: hard links share it.
type inodeKey struct{ dev, ino uint64 }

// measureDir adds up the blocks and counts the inodes under dir, each inode
// once as du does: a layer like busybox-static's holds hundreds of hard
// links to one binary. ok is false when nothing could be read.
func measureDir(dir string) (u usage, ok bool) {
	seen := map[inodeKey]struct{}{}
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: count what we can
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, isStat := info.Sys().(*syscall.Stat_t)
		if !isStat {
			u.inodes++
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			k := inodeKey{uint64(st.Dev), st.Ino}
			if _, dup := seen[k]; dup {
				return nil
			}
			seen[k] = struct{}{}
		}
		u.inodes++
		u.bytes += uint64(st.Blocks) * 512
		return nil
	})
	return u, err == nil && u.inodes > 0
}
