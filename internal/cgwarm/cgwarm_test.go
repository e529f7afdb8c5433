package cgwarm

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestProcsFor(t *testing.T) {
	hybrid := map[string]string{"name=systemd": "/a", "pids": "/b", "": "/c"}
	if got, want := procsFor(hybrid, hierarchy{dir: "/sys/fs/cgroup/unified"}), "/sys/fs/cgroup/unified/c/cgroup.procs"; got != want {
		t.Errorf("unified: %q, want %q", got, want)
	}
	if got, want := procsFor(hybrid, hierarchy{dir: "/sys/fs/cgroup/pids", key: "pids"}), "/sys/fs/cgroup/pids/b/cgroup.procs"; got != want {
		t.Errorf("v1: %q, want %q", got, want)
	}
	for _, bad := range []struct {
		cg map[string]string
		h  hierarchy
	}{
		{hybrid, hierarchy{}}, // nothing mounted
		{map[string]string{"pids": "/b"}, hierarchy{dir: "/sys/fs/cgroup"}},    // not in the unified one
		{map[string]string{"": "/../x"}, hierarchy{dir: "/sys/fs/cgroup"}},     // escaping
		{map[string]string{"": "x"}, hierarchy{dir: "/sys/fs/cgroup/unified"}}, // not absolute
	} {
		if got := procsFor(bad.cg, bad.h); got != "" {
			t.Errorf("procsFor(%v, %v) = %q, want none", bad.cg, bad.h, got)
		}
	}
}

// The warm write moves this process into the cgroup it is in: it stays
// where it was.
func TestHoldMovesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to write cgroup.procs")
	}
	procs := ownProcs()
	if procs == "" {
		t.Skip("no cgroup mount")
	}
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	pw := &procsWriter{procs: ownProcs, pid: strconv.Itoa(os.Getpid())}
	defer pw.close()
	pw.warm()
	if pw.f == nil {
		t.Fatalf("cannot open %s", procs)
	}
	if _, err := pw.f.WriteString(pw.pid); err != nil {
		t.Fatalf("write own pid into %s: %v", procs, err)
	}
	release := Hold()
	time.Sleep(4 * every)
	release()
	after, _ := os.ReadFile("/proc/self/cgroup")
	if string(before) != string(after) {
		t.Errorf("cgroups changed:\n%s\nto\n%s", before, after)
	}
}

// While held the lock is re-warmed again and again; once every hold is
// released the writes stop.
func TestHoldRewarmsUntilReleased(t *testing.T) {
	var wr warmer
	var writes atomic.Int32
	count := func() { writes.Add(1) }
	hold := func() func() {
		wr.mu.Lock()
		wr.holds++
		wr.until = time.Now().Add(maxHold)
		wr.running = true
		wr.mu.Unlock()
		go wr.loop(count)
		return func() { wr.mu.Lock(); wr.holds--; wr.mu.Unlock() }
	}
	release := hold()
	deadline := time.Now().Add(5 * time.Second)
	for writes.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if writes.Load() < 3 {
		t.Fatalf("%d writes while held", writes.Load())
	}
	release()
	for running(&wr) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if running(&wr) {
		t.Fatal("still writing after the release")
	}
	n := writes.Load()
	time.Sleep(3 * every)
	if writes.Load() != n {
		t.Errorf("writes went on after the loop ended: %d then %d", n, writes.Load())
	}
}

// A hold nobody releases ends after maxHold.
func TestHoldEndsByItself(t *testing.T) {
	if testing.Short() {
		t.Skip("waits maxHold")
	}
	release := Hold()
	defer release()
	deadline := time.Now().Add(maxHold + 5*time.Second)
	for running(&w) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if running(&w) {
		t.Fatal("an unreleased hold kept writing past maxHold")
	}
}

func running(w *warmer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}

// The writer keeps cgroup.procs open between writes, looks the path up
// again only every recheck, and never creates a file.
func TestProcsWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "cgroup.procs")
	var lookups int
	pw := &procsWriter{procs: func() string { lookups++; return path }, pid: "42"}
	defer pw.close()
	pw.warm()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the writer created %s: %v", path, err)
	}
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, nil, 0o600)
	pw.warm() // within recheck: the missing file is not looked for again
	pw.checked = time.Now().Add(-recheck)
	pw.warm()
	pw.warm()
	if b, _ := os.ReadFile(path); string(b) != "4242" {
		t.Errorf("wrote %q, want two writes", b)
	}
	if lookups != 2 {
		t.Errorf("%d lookups of the cgroup for 4 writes within two rechecks, want 2", lookups)
	}
	// Moved: the next recheck writes to the new cgroup.
	moved := filepath.Join(dir, "b", "cgroup.procs")
	os.MkdirAll(filepath.Dir(moved), 0o700)
	os.WriteFile(moved, nil, 0o600)
	path = moved
	pw.checked = time.Now().Add(-recheck)
	pw.warm()
	if b, _ := os.ReadFile(moved); string(b) != "42" {
		t.Errorf("after the move wrote %q to the new cgroup", b)
	}
}
