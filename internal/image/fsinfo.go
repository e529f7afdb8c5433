package image

import (
	"context"
	"io/fs"
	"path/filepath"
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
type fsCache struct {
	mu     sync.Mutex
	layers map[string]usage
}

func (c *fsCache) init() { c.layers = map[string]usage{} }

// FsInfo reports the store's usage: image layers as ImageFilesystems and
// container writable layers as ContainerFilesystems. The filesystem ids are
// the ones CRI-O reports: without an image store both name
// <root>/<driver>-images (one filesystem, so the kubelet does not split);
// with one, images name <imagestore>/<driver>-images and containers
// <root>/<driver>-containers, two filesystems the kubelet watches apart.
func (s *Service) FsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	s.waitReapsDone() // usage reflects the removes already answered
	layers, err := s.store.Layers()
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInternal, "list layers: %w", err)
	}
	containers, err := s.store.Containers()
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInternal, "list containers: %w", err)
	}
	writable := make(map[string]bool, len(containers))
	for _, c := range containers {
		writable[c.LayerID] = true
	}
	now := time.Now()
	var img, ctr usage
	live := make(map[string]bool, len(layers))
	s.fs.mu.Lock()
	for _, l := range layers {
		live[l.ID] = true
		u, ok := s.fs.layers[l.ID]
		stale := !ok || (writable[l.ID] && now.Sub(u.at) > containerUsageTTL)
		if stale {
			u = s.measureLayer(l.ID, l.UncompressedSize, !writable[l.ID])
			u.at = now
			s.fs.layers[l.ID] = u
		}
		if writable[l.ID] {
			ctr.bytes += u.bytes
			ctr.inodes += u.inodes
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
	s.fs.mu.Unlock()
	imgMount, ctrMount := s.fsMountpoints()
	mk := func(u usage, mountpoint string) []*runtimeapi.FilesystemUsage {
		return []*runtimeapi.FilesystemUsage{{
			Timestamp:  now.UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: mountpoint},
			UsedBytes:  &runtimeapi.UInt64Value{Value: u.bytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: u.inodes},
		}}
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: mk(img, imgMount), ContainerFilesystems: mk(ctr, ctrMount)}, nil
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
