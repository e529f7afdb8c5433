package container

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/crio-runtime/crio/internal/errdefs"
)

func TestEnsureWorkdir(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// An absolute symlink in the image resolves inside the rootfs.
	if err := os.Symlink("/srv", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if uid == 0 {
		uid, gid = 1234, 4321
	}
	if err := ensureWorkdir(root, "/srv/app/data", uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"srv/app", "srv/app/data"} {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil || !st.IsDir() {
			t.Fatalf("%s: %v", p, err)
		}
		if s := st.Sys().(*syscall.Stat_t); s.Uid != uid || s.Gid != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, s.Uid, s.Gid, uid, gid)
		}
	}
	if st, _ := os.Stat(filepath.Join(root, "srv")); st.Sys().(*syscall.Stat_t).Uid == uid {
		t.Error("an existing directory changed owner")
	}
	if err := ensureWorkdir(root, "/link/through", uid, gid); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "srv/through")); err != nil {
		t.Errorf("symlink not followed inside the rootfs: %v", err)
	}
	err := ensureWorkdir(root, "/file/sub", uid, gid)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("file in the path: %v, want InvalidArgument", err)
	}
	if err := ensureWorkdir(root, "/", uid, gid); err != nil {
		t.Errorf("root: %v", err)
	}
}
