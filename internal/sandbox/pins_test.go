package sandbox

import (
	"os"
	"path/filepath"
	"testing"
)

// A plain file at a pod's pin name (what a reboot leaves of a netns) is
// removed with the pod, recorded or not.
func TestStalePinsRemoved(t *testing.T) {
	dir := t.TempDir()
	p := PinPath(dir, NetNS, "pod1")
	other := PinPath(dir, NetNS, "pod2")
	for _, f := range []string{p, other} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Unpin(pinsOf(dir, "pod1")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("stale pin left: %v", err)
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("another pod's pin removed: %v", err)
	}
}
