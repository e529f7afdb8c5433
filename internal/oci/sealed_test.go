package oci

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// TestSealedCopyOnlyOfRunc: a copy is made of runc only (not of another
// binary or a script named runc), sealed against writes, and kept until the
// binary changes.
func TestSealedCopyOnlyOfRunc(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "script", "runc")
	other := filepath.Join(dir, "other", "runc")
	for _, p := range []string{script, other} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho runc version 1.1.5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile("/bin/true"); err != nil || os.WriteFile(other, data, 0o755) != nil {
		t.Skip("no /bin/true to copy")
	}
	for _, p := range []string{script, other} {
		c := newExeCache(p)
		if s := c.acquire(); s != nil {
			t.Errorf("%s: sealed a copy of what is not runc", p)
		}
	}

	c := newExeCache(runc)
	s := c.acquire()
	if s == nil {
		t.Fatal("no sealed copy of runc")
	}
	if !monitor.IsSealedCopy(int(s.f.Fd())) {
		t.Error("copy not sealed as runc expects")
	}
	if _, err := unix.Pwrite(int(s.f.Fd()), []byte("x"), 0); err == nil {
		t.Error("the sealed copy took a write")
	}
	if again := c.acquire(); again != s {
		t.Error("an unchanged binary was copied again")
	} else {
		c.release(again)
	}
	c.release(s)
	var nilCache *exeCache
	if nilCache.acquire() != nil {
		t.Error("no cache gave a copy")
	}
}
