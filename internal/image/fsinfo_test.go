package image

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/containers/storage/pkg/lockfile"

	"github.com/crio-runtime/crio/test/registry"
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

// FsInfo of an unchanged store answers from its last sums, without
// storage's locks; a new or removed container, and a writable layer due
// for re-measuring, are seen.
func TestFsInfoKeepsTotalsUntilAChange(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "fs:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	id := mustPull(t, s, r.Ref("fs:v1"), nil)
	_, _, _ = s.fsUsage(time.Now()) // the first sums open storage's lock files
	img, ctr, err := s.fsUsage(time.Now())
	if err != nil || img.bytes == 0 || ctr.inodes != 0 {
		t.Fatalf("after the pull: images %+v, containers %+v, %v", img, ctr, err)
	}

	// Storage's layer lock held (a long write): the sums still come.
	lock, err := lockfile.GetLockFile(filepath.Join(s.store.GraphRoot(), s.store.GraphDriverName()+"-layers", "layers.lock"))
	if err != nil {
		t.Fatal(err)
	}
	lock.Lock()
	done := make(chan error, 1)
	go func() { _, err := s.FsInfo(ctxT(t)); done <- err }()
	select {
	case err := <-done:
		lock.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		lock.Unlock()
		t.Fatal("FsInfo of an unchanged store waited for storage's layer lock")
	}

	// A container made through storage (as by another process) shows.
	c, err := s.Store().CreateContainer("", []string{"fs-ctr"}, id, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ctr, err = s.fsUsage(time.Now())
	if err != nil || ctr.inodes == 0 {
		t.Fatalf("with a container: containers %+v, %v", ctr, err)
	}

	// Files written into it show once its usage is due again.
	dir, err := s.Store().Mount(c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "grown"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store().Unmount(c.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, same, _ := s.fsUsage(time.Now()); same != ctr {
		t.Fatalf("re-measured before its TTL: %+v, was %+v", same, ctr)
	}
	_, grown, err := s.fsUsage(time.Now().Add(containerUsageTTL))
	if err != nil || grown.bytes < ctr.bytes+1<<20 {
		t.Fatalf("after its TTL: containers %+v, was %+v (+1 MiB written), %v", grown, ctr, err)
	}

	if err := s.Store().DeleteContainer(c.ID); err != nil {
		t.Fatal(err)
	}
	if _, ctr, err = s.fsUsage(time.Now()); err != nil || ctr.inodes != 0 {
		t.Fatalf("container removed: containers %+v, %v", ctr, err)
	}
}
