package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// makeVolumeDirs creates the image volume directories a spec asks for.
// Those inside the rootfs (image_volumes = mkdir) are resolved within it, so
// an image whose VOLUME path runs through a symlink cannot make directories
// on the host, and the directories that did not exist are handed to the
// container's user, as CRI-O does; existing ones keep the image's owner.
// Bind-mode directories live in the container's private volume dir.
func makeVolumeDirs(dirs []string, rootfs string, uid, gid uint32) error {
	for _, d := range dirs {
		rel, err := filepath.Rel(rootfs, d)
		if rootfs == "" || err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("image volume dir %s: %w", d, err)
			}
			continue
		}
		if err := mkdirInRootfs(rootfs, rel, uid, gid); err != nil {
			return fmt.Errorf("image volume /%s: %w", rel, err)
		}
	}
	return nil
}

func mkdirInRootfs(rootfs, rel string, uid, gid uint32) error {
	p, err := securejoin.SecureJoin(rootfs, rel)
	if err != nil {
		return err
	}
	// The missing components, deepest first, are the ones to give away.
	var created []string
	for q := p; q != rootfs && strings.HasPrefix(q, rootfs+"/"); q = filepath.Dir(q) {
		if _, err := os.Lstat(q); err == nil {
			break
		}
		created = append(created, q)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	for _, q := range created {
		if err := os.Lchown(q, int(uid), int(gid)); err != nil {
			return err
		}
	}
	return nil
}
