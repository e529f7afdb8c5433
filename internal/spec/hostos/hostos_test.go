package hostos

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDevices(t *testing.T) {
	devs, err := Host{}.Devices("/dev/null")
	if err != nil {
		t.Skipf("no /dev/null: %v", err)
	}
	if len(devs) != 1 || devs[0].Type != "c" || devs[0].Major != 1 || devs[0].Minor != 3 || devs[0].Path != "/dev/null" {
		t.Fatalf("/dev/null = %+v", devs)
	}
	if _, err := (Host{}).Devices("/nonexistent-device"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing device: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Host{}).Devices(filepath.Join(dir, "f")); err == nil {
		t.Fatal("regular file accepted as a device")
	}
	all, err := Host{}.Devices("/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		if filepath.Dir(d.Path) == "/dev/pts" {
			t.Fatalf("devpts node listed: %s", d.Path)
		}
	}
}

func TestEvalSymlinksAndReadFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if got, err := (Host{}).EvalSymlinks(link); err != nil || got != target {
		t.Fatalf("EvalSymlinks = %q, %v", got, err)
	}
	if _, err := (Host{}).EvalSymlinks(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}
	if b, err := (Host{}).ReadFile(link); err != nil || string(b) != "x" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
}

func TestHostLimits(t *testing.T) {
	caps, err := BoundingCapabilities()
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if !slices.Contains(caps, "CAP_CHOWN") && os.Geteuid() == 0 {
		t.Fatalf("root without CAP_CHOWN in bounding set? %v", caps)
	}
	lo, err := MinOOMScoreAdj()
	if err != nil || lo < -1000 || lo > 1000 {
		t.Fatalf("MinOOMScoreAdj = %d, %v", lo, err)
	}
}
