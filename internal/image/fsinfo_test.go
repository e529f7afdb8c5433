package image

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestMeasureDirCountsHardLinksOnce: 200 names of one 1 MiB file are one
// inode and 1 MiB, as du counts them, not 200 MiB.
func TestMeasureDirCountsHardLinksOnce(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(bin, "busybox")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := os.Link(target, filepath.Join(bin, fmt.Sprintf("applet%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var want uint64
	for _, p := range []string{dir, bin, target, filepath.Join(dir, "other")} {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		want += uint64(st.Blocks) * 512
	}
	u, ok := measureDir(dir)
	if !ok {
		t.Fatal("nothing measured")
	}
	if u.bytes != want || u.inodes != 4 {
		t.Errorf("measured %d bytes in %d inodes, want %d bytes in 4 inodes (2 dirs, the linked file, other)", u.bytes, u.inodes, want)
	}
}
