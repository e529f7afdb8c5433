package container

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareTargets(t *testing.T) {
	t.Run("creates the missing files", func(t *testing.T) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("image\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		prepareTargets(root)
		for _, f := range []string{"hosts", "resolv.conf"} {
			st, err := os.Lstat(filepath.Join(root, "etc", f))
			if err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
				t.Errorf("etc/%s: %v %v", f, st, err)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(root, "etc", "hostname")); string(b) != "image\n" {
			t.Errorf("the image's etc/hostname was changed: %q", b)
		}
	})
	t.Run("stays inside the rootfs", func(t *testing.T) {
		root, outside := t.TempDir(), t.TempDir()
		// An absolute symlink is resolved inside the rootfs, where its
		// target does not exist: nothing is created anywhere.
		if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
			t.Fatal(err)
		}
		prepareTargets(root)
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("files created outside the rootfs: %v", ents)
		}
		// A symlinked file is left as the image has it.
		root2 := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root2, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(outside, "hosts"), filepath.Join(root2, "etc", "hosts")); err != nil {
			t.Fatal(err)
		}
		prepareTargets(root2)
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("files created outside the rootfs through a symlink: %v", ents)
		}
	})
	t.Run("no etc", func(t *testing.T) {
		root := t.TempDir()
		prepareTargets(root)
		if ents, _ := os.ReadDir(root); len(ents) != 0 {
			t.Errorf("created %v in a rootfs without /etc", ents)
		}
	})
}
