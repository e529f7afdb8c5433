package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crio-runtime/crio/internal/sandbox"
)

func TestSearchableOnlyRootOwned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := t.TempDir()
	rootOwned, podOwned := filepath.Join(dir, "root"), filepath.Join(dir, "pod")
	for _, d := range []string{rootOwned, podOwned} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(podOwned, 300000, 300000); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{rootOwned, podOwned} {
		if err := searchable(d); err != nil {
			t.Fatal(err)
		}
	}
	if fi, _ := os.Stat(rootOwned); fi.Mode().Perm() != 0o701 {
		t.Errorf("root-owned dir: %v, want 0701", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(podOwned); fi.Mode().Perm() != 0o700 {
		t.Errorf("pod-owned dir opened to others: %v", fi.Mode().Perm())
	}
}

func TestOwnerOnHost(t *testing.T) {
	u := &sandbox.Userns{UIDs: []sandbox.IDMap{{HostID: 1000, Size: 100}}, GIDs: []sandbox.IDMap{{HostID: 5000, Size: 100}}}
	if uid, gid := ownerOnHost(7, 8, u); uid != 1007 || gid != 5008 {
		t.Errorf("ownerOnHost(7, 8) = %d, %d", uid, gid)
	}
	if uid, gid := ownerOnHost(7, 8, nil); uid != 7 || gid != 8 {
		t.Errorf("without a user namespace: %d, %d", uid, gid)
	}
	if uid, _ := ownerOnHost(500, 8, u); uid != 500 {
		t.Errorf("unmapped uid changed to %d", uid)
	}
}
