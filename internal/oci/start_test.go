package oci

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fifoContainer makes runc's layout of a created container under a new
// root: <root>/<id>/exec.fifo, and a process standing in for its init that
// runs script (with $FIFO set).
func fifoContainer(t *testing.T, script string) (*Runtime, string, *exec.Cmd) {
	t.Helper()
	root := t.TempDir()
	fifo := filepath.Join(root, "ctr1", "exec.fifo")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	init := exec.Command("sh", "-c", script)
	init.Env = append(os.Environ(), "FIFO="+fifo)
	if err := init.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = init.Process.Kill(); _ = init.Wait() })
	// No runc binary there: only the fifo can start the container.
	rt := &Runtime{Name: "runc", Path: filepath.Join(t.TempDir(), "runc"), Root: root}
	return rt, fifo, init
}

func TestStartReadsRuncExecFifo(t *testing.T) {
	rt, fifo, init := fifoContainer(t, `printf 0 > "$FIFO"; exec sleep 60`)
	if err := rt.Start(context.Background(), "ctr1", init.Process.Pid); err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := os.Lstat(fifo); !os.IsNotExist(err) {
		t.Fatalf("exec fifo left behind (runc would read the container as created): %v", err)
	}
}

func TestStartInitDiedBeforeWriting(t *testing.T) {
	rt, fifo, init := fifoContainer(t, `exit 3`)
	// Not reaped yet: a zombie, as a container's dead init is until its
	// monitor reaps it.
	var si unix.Siginfo
	if err := unix.Waitid(unix.P_PID, init.Process.Pid, &si, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	err := rt.Start(context.Background(), "ctr1", init.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), "already dead") {
		t.Fatalf("start of a dead init: %v, want already dead", err)
	}
	if _, err := os.Lstat(fifo); err != nil {
		t.Fatalf("exec fifo of an unstarted container removed: %v", err)
	}
}

// A stopped runc container was started if its state lacks the exec fifo.
func TestStartedPerStateReadsTheFifo(t *testing.T) {
	rt, fifo, _ := fifoContainer(t, `exit 0`)
	if rt.StartedPerState("ctr1") {
		t.Error("no state.json: runc has no such container, yet it reads as started")
	}
	if err := os.WriteFile(filepath.Join(rt.Root, "ctr1", "state.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rt.StartedPerState("ctr1") {
		t.Error("a container with its exec fifo reads as started")
	}
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if !rt.StartedPerState("ctr1") {
		t.Error("a container whose exec fifo is gone reads as not started")
	}
	if crun := (&Runtime{Name: "crun", Path: "/usr/bin/crun", Root: rt.Root}); crun.StartedPerState("ctr1") {
		t.Error("only runc's layout is known")
	}
}

func TestStartOtherRuntimeExecsIt(t *testing.T) {
	rt, _, init := fifoContainer(t, `printf 0 > "$FIFO"; exec sleep 60`)
	rt.Name, rt.Path = "crun", filepath.Join(filepath.Dir(rt.Path), "crun")
	if err := rt.Start(context.Background(), "ctr1", init.Process.Pid); err == nil {
		t.Fatal("start through a missing crun binary succeeded; only runc's fifo may be read directly")
	}
}

// PastInit tells runc's init (named "runc:[2:INIT]" until it execs the
// container's command) from the command, and knows no other runtime.
func TestPastInitReadsTheProcessName(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	asInit := filepath.Join(t.TempDir(), "runc:[2:INIT]") // its comm, as runc names it
	if err := os.WriteFile(asInit, data, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(path string) int {
		t.Helper()
		p := exec.Command(path, "60")
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })
		return p.Process.Pid
	}
	command, init := run(sleep), run(asInit)
	runc := &Runtime{Name: "runc", Path: "/usr/sbin/runc"}
	crun := &Runtime{Name: "crun", Path: "/usr/bin/crun"}
	if !runc.PastInit(command) {
		t.Error("runc: sleep is not past init")
	}
	if runc.PastInit(init) {
		t.Error("runc's init counts as past init")
	}
	if crun.PastInit(command) {
		t.Error("another runtime's process counts as past its init")
	}
	if runc.PastInit(1 << 30) {
		t.Error("a process that does not exist counts as past init")
	}
}

// Only a plain container id names a directory under runc's root.
func TestRuncStateDirStaysInRoot(t *testing.T) {
	rt := &Runtime{Name: "runc", Path: "/usr/sbin/runc", Root: "/run/x"}
	for _, id := range []string{"", ".", "..", "a/b", "../b"} {
		if dir, ok := rt.runcStateDir(id); ok {
			t.Errorf("id %q: state dir %q", id, dir)
		}
	}
	if dir, ok := rt.runcStateDir("ctr1"); !ok || dir != "/run/x/ctr1" {
		t.Errorf("ctr1: %q %v", dir, ok)
	}
	for _, other := range []*Runtime{{Path: "/usr/bin/crun", Root: "/run/x"}, {Path: "/usr/sbin/runc"}} {
		if _, ok := other.runcStateDir("ctr1"); ok {
			t.Errorf("%+v: a state dir without runc and a root", other)
		}
	}
}
