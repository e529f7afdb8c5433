package version

import (
	"os"
	"path/filepath"
	"testing"
)

func TestShouldWipe(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "version")
	if wipe, err := shouldWipe("", "1.37.0"); wipe || err != nil {
		t.Errorf("no file configured: wipe=%v err=%v", wipe, err)
	}
	if wipe, err := shouldWipe(f, "1.37.0"); !wipe || err == nil {
		t.Errorf("missing file (reboot): wipe=%v err=%v", wipe, err)
	}
	for _, tc := range []struct {
		old, cur string
		wipe     bool
	}{
		{`"1.37.0"`, "1.37.4", false},
		{`"1.36.2"`, "1.37.0", true},
		{`"1.38.0-dev"`, "v1.37.1", true},
		{`"abc1234"`, "abc1234", false},
		{`"abc1234"`, "def5678-dirty", true},
		{"1.37.0\n", "1.37.9", false}, // a plain file written by hand
	} {
		if err := os.WriteFile(f, []byte(tc.old), 0o644); err != nil {
			t.Fatal(err)
		}
		if wipe, err := shouldWipe(f, tc.cur); wipe != tc.wipe || err != nil {
			t.Errorf("%s -> %s: wipe=%v err=%v, want %v", tc.old, tc.cur, wipe, err, tc.wipe)
		}
	}
	if err := WriteFile(f); err != nil {
		t.Fatal(err)
	}
	if wipe, err := ShouldWipe(f); wipe || err != nil {
		t.Errorf("just written: wipe=%v err=%v", wipe, err)
	}
}
