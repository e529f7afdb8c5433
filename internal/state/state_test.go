package state

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStoreRoundTripAndCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct{ N int }
	if err := s.Put("pods", "a", rec{1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("pods", "a", rec{2}); err != nil {
		t.Fatal(err)
	}
	// A crash between temp write and rename leaves a temp file: ignored and removed.
	if err := os.WriteFile(filepath.Join(dir, "pods", ".tmp-b.json123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	if err := s.List("pods", func(id string, data []byte) error { got[id] = string(data); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["a"] != `{"N":2}` {
		t.Errorf("records: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "pods", ".tmp-b.json123")); !os.IsNotExist(err) {
		t.Error("temp leftover not removed")
	}
	for _, bad := range []string{"", "../x", "a/b", ".."} {
		if err := s.Put("pods", bad, rec{}); err == nil {
			t.Errorf("id %q accepted", bad)
		}
	}
	if err := s.Delete("pods", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("pods", "a"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestIndexResolve(t *testing.T) {
	x := NewIndex[int]()
	x.Add("abc123", 1)
	x.Add("abd456", 2)
	if id, v, err := x.Resolve("abc"); err != nil || id != "abc123" || v != 1 {
		t.Errorf("unique prefix: %s %d %v", id, v, err)
	}
	if _, _, err := x.Resolve("ab"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("ambiguous: %v", err)
	}
	if _, _, err := x.Resolve("zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, _, err := x.Resolve(""); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty: %v", err)
	}
	if l := x.List(); len(l) != 2 || l[0] != 1 {
		t.Errorf("list %v", l)
	}
}

func TestNames(t *testing.T) {
	n := NewNames()
	if _, err := n.Reserve("a", "1"); err != nil {
		t.Fatal(err)
	}
	if other, err := n.Reserve("a", "2"); !errors.Is(err, ErrNameTaken) || other != "1" {
		t.Errorf("clash: %q %v", other, err)
	}
	n.Release("a", "2") // not the holder: no effect
	if _, err := n.Reserve("a", "2"); err == nil {
		t.Error("release by a non-holder freed the name")
	}
	n.Release("a", "1")
	if _, err := n.Reserve("a", "2"); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// TestLockDir: a second holder is refused with the first one's pid; the lock
// is free again once released.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	_ = l2.Release()
}

// WriteFileAtomic leaves the exact mode asked for (the umask does not
// apply), replaces an existing file and leaves no temp file.
func TestWriteFileAtomicModeAndReplace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "rec.json")
	for i, perm := range []os.FileMode{0o644, 0o600} {
		data := []byte(strings.Repeat("x", 100000*(i+1)))
		if err := WriteFileAtomic(p, data, perm); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != perm || st.Size() != int64(len(data)) {
			t.Fatalf("after write %d: %v %v", i, st, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("left in the dir: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "new-dir", "x"), nil, 0o600); err != nil {
		t.Fatal(err) // MkdirAll makes it
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "file", "x"), nil, 0o600); err == nil {
		t.Error("write under a regular file succeeded")
	}
}

func BenchmarkWriteFileAtomic(b *testing.B) {
	p := filepath.Join(b.TempDir(), "rec.json")
	data := []byte(strings.Repeat("x", 2000))
	for b.Loop() {
		if err := WriteFileAtomic(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
