package oci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/proc"
)

// The infra's create without a monitor: runc runs once for the create, the
// container's init leaves the daemon's session with /dev/null as stdin and
// stdout and the bundle's create.err as stderr, and a failed create says
// what the runtime said.
func TestCreateUnmonitored(t *testing.T) {
	b := newRuncBox(t)
	id := "unmonitored"
	b.writeSpec(id, "exec sleep 600", false, nil)
	t.Cleanup(func() { _, _ = b.rt.run(context.Background(), nil, "delete", "--force", id) })
	pid, err := b.rt.CreateUnmonitored(context.Background(), id, b.bundle, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.rt.Start(context.Background(), id, pid); err != nil {
		t.Fatal(err)
	}
	if got := b.calls(); strings.Join(got, " ") != "create" {
		t.Errorf("runtime calls %v, want one create (started by its fifo)", got)
	}
	start, err := proc.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := unix.Getsid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if own, _ := unix.Getsid(0); sid == own {
		t.Errorf("the container's init is in the caller's session %d", sid)
	}
	for fd, want := range map[int]string{0: "/dev/null", 1: "/dev/null", 2: filepath.Join(b.bundle, "create.err")} {
		if got, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", strconv.Itoa(fd))); err != nil || got != want {
			t.Errorf("fd %d of the container's init: %q %v, want %s", fd, got, err, want)
		}
	}
	if err := proc.Signal(pid, start, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !proc.WaitGone(pid, start, 10*time.Second) {
		t.Fatal("the killed init did not go")
	}
	if err := b.rt.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}

	// A create past its timeout says so.
	if _, err := b.rt.CreateUnmonitored(context.Background(), "late", b.bundle, time.Nanosecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("create past its timeout: %v", err)
	}

	// A bundle without a config: no container, the runtime's message.
	empty := t.TempDir()
	_, err = b.rt.CreateUnmonitored(context.Background(), "broken", empty, 0)
	if err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("create of a bundle without config.json: %v, want runc's message naming it", err)
	}
}
