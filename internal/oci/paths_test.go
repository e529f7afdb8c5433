package oci

import (
	"os"
	"path/filepath"
	"testing"
)

// A remembered $PATH hit is checked on each use: a binary removed or made
// non-executable is searched for again, and a name found nowhere fails.
func TestLookPathRemembersAndRechecks(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	t.Setenv("PATH", first+":"+second)
	name := "crio-test-runtime-" + filepath.Base(first)
	write := func(dir string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inSecond := write(second)
	if p, err := lookPath(name); err != nil || p != inSecond {
		t.Fatalf("lookPath = %q, %v; want %q", p, err, inSecond)
	}
	inFirst := write(first)
	if p, _ := lookPath(name); p != inSecond { // remembered while it exists
		t.Errorf("lookPath = %q; want the remembered %q", p, inSecond)
	}
	if err := os.Chmod(inSecond, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := lookPath(name); err != nil || p != inFirst {
		t.Errorf("after chmod -x: lookPath = %q, %v; want %q", p, err, inFirst)
	}
	if err := os.Remove(inFirst); err != nil {
		t.Fatal(err)
	}
	if p, err := lookPath(name); err == nil {
		t.Errorf("after removal: lookPath = %q, want an error", p)
	}
}
