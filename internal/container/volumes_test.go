package container

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestMakeVolumeDirs: image_volumes = mkdir stays inside the rootfs when the
// image's path runs through an absolute symlink, gives new directories to
// the container user and leaves existing ones alone; bind-mode directories
// outside the rootfs are plainly created.
func TestMakeVolumeDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := t.TempDir()
	rootfs, host := filepath.Join(dir, "rootfs"), filepath.Join(dir, "host")
	for _, d := range []string{filepath.Join(rootfs, "var"), host} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// /link -> <host>: followed naively it would create <host>/data.
	if err := os.Symlink(host, filepath.Join(rootfs, "link")); err != nil {
		t.Fatal(err)
	}
	bind := filepath.Join(dir, "ctr-volumes", "cache")
	dirs := []string{filepath.Join(rootfs, "var/lib/app"), filepath.Join(rootfs, "link/data"), bind}
	if err := makeVolumeDirs(dirs, rootfs, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(host, "data")); err == nil {
		t.Fatal("volume created through a symlink on the host")
	}
	owner := func(p string) (uint32, uint32) {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid
	}
	for p, want := range map[string][2]uint32{
		filepath.Join(rootfs, "var"):         {0, 0},
		filepath.Join(rootfs, "var/lib"):     {1234, 5678},
		filepath.Join(rootfs, "var/lib/app"): {1234, 5678},
		filepath.Join(rootfs, host, "data"):  {1234, 5678}, // the symlink resolved within the rootfs
		bind:                                 {0, 0},
	} {
		if u, g := owner(p); u != want[0] || g != want[1] {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, u, g, want[0], want[1])
		}
	}
}
