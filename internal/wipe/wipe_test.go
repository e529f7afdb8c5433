package wipe

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStorageDirectoryKeepsStateBelowRoot: emptying the storage root keeps
// crio's own state dir when it lives below root (its default when root is
// moved) but drops the container records in it.
func TestStorageDirectoryKeepsStateBelowRoot(t *testing.T) {
	root := t.TempDir()
	stateDir := filepath.Join(root, "crio", "state")
	for _, d := range []string{"vfs/dir/abc", "vfs-images", "crio/state/pods", "crio/state/containers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := StorageDirectory(root, stateDir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"vfs": false, "vfs-images": false, "crio/state/pods": true, "crio/state/containers": false} {
		if _, err := os.Stat(filepath.Join(root, p)); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", p, err == nil, want)
		}
	}
	for _, bad := range []string{"", "/", "relative"} {
		if err := StorageDirectory(bad, stateDir); err == nil {
			t.Errorf("StorageDirectory(%q) must refuse", bad)
		}
	}
}

func TestShutdownWasUnclean(t *testing.T) {
	f := filepath.Join(t.TempDir(), "clean.shutdown")
	if ShutdownWasUnclean(f) || ShutdownWasUnclean("") {
		t.Error("without the .supported mark a missing file proves nothing")
	}
	if err := os.WriteFile(f+".supported", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !ShutdownWasUnclean(f) {
		t.Error("supported and missing: unclean")
	}
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if ShutdownWasUnclean(f) {
		t.Error("file present: clean")
	}
}
