package framework

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// CleanupDir unmounts everything mounted under dir (deepest first) and
// removes it, so a failed test leaves no mount or directory behind.
func CleanupDir(t testing.TB, dir string) {
	for _, m := range mountsUnder(dir) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Logf("cleanup: unmount %s: %v", m, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("cleanup: %v", err)
	}
}

func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// MountsUnder lists the mount points under dir (for leak checks).
func MountsUnder(dir string) []string { return mountsUnder(dir) }

// killLeftovers force-deletes the containers still in the daemon's runc
// roots (a test that ended with the daemon down could not remove its pods);
// their monitors then exit.
func (d *Daemon) killLeftovers() {
	roots, _ := filepath.Glob(d.path("run/runc*"))
	for _, root := range roots {
		out, err := exec.Command("runc", "--root", root, "list", "-q").Output()
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(string(out)) {
			d.t.Logf("cleanup: container %s was left running", id)
			_ = exec.Command("runc", "--root", root, "delete", "-f", id).Run()
		}
	}
}
