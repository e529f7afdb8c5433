package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/crio-runtime/crio/internal/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// containerEnvFile is the empty file bound at /run/.containerenv; it lives
// in the bundle so it goes with the container.
func containerEnvFile(bundle string) string { return filepath.Join(bundle, "containerenv") }

// prepareRootfs writes what the container expects before it starts: the
// /run/.containerenv marker and its working directory.
func prepareRootfs(bundle, rootfs string, s *specs.Spec) error {
	if err := os.WriteFile(containerEnvFile(bundle), nil, 0o644); err != nil {
		return fmt.Errorf("containerenv: %w", err)
	}
	if s.Process == nil {
		return nil
	}
	return ensureWorkdir(rootfs, s.Process.Cwd, s.Process.User.UID, s.Process.User.GID)
}

// ensureWorkdir creates the missing parts of the working directory inside
// rootfs, owned by the container's user (as CRI-O does), so a non-root
// process can use it. An existing non-directory is InvalidArgument. Each
// step is resolved inside rootfs, so image symlinks cannot lead out of it.
func ensureWorkdir(rootfs, cwd string, uid, gid uint32) error {
	cwd = path.Clean("/" + cwd)
	cur := "/"
	for _, part := range strings.Split(strings.TrimPrefix(cwd, "/"), "/") {
		if part == "" {
			continue
		}
		cur = path.Join(cur, part)
		p, err := securejoin.SecureJoin(rootfs, cur)
		if err != nil {
			return fmt.Errorf("working directory %q: %w", cwd, err)
		}
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir():
			return errdefs.Invalid("", "working directory %q: %s is not a directory", cwd, cur)
		case err == nil:
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("working directory %q: %w", cwd, err)
		}
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create working directory %q: %w", cwd, err)
		}
		if err := os.Lchown(p, int(uid), int(gid)); err != nil {
			return fmt.Errorf("chown working directory %q: %w", cwd, err)
		}
	}
	return nil
}
