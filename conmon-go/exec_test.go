package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// runHelper runs the exec helper with sh standing in for a detached
// runtime, its stdout a pipe whose read end the test keeps. The script gets
// the pid file as $0 and a fifo as $1: see handOff. held reports whether
// something still held the pipe when the helper returned.
func runHelper(t *testing.T, script string) (code int, stderr string, held bool) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	fifo := pidFile + ".fifo"
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A file, not a buffer: exec.Cmd would wait for every holder of a pipe.
	errOut, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errOut.Close()
	cmd := exec.Command(monitorBinary(t), monitor.ExecArg, pidFile, "sh", "-c", script, pidFile, fifo)
	cmd.Stdout, cmd.Stderr = w, errOut
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	// One non-blocking read (os.Pipe's fds are): EAGAIN means a writer is
	// left, EOF that none is.
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.Read(func(fd uintptr) bool {
		_, err = syscall.Read(int(fd), make([]byte, 1))
		return true
	})
	held = errors.Is(err, syscall.EAGAIN)
	// A holder the script left (its pid in $0.holder) is not needed now.
	if b, err := os.ReadFile(pidFile + ".holder"); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	msg, _ := os.ReadFile(errOut.Name())
	return cmd.ProcessState.ExitCode(), string(msg), held
}

// handOff is the stand-in runtime's part: it opens the fifo ($1) for
// writing and exits, closing it. The exec'd process first reads the fifo,
// so it ends only once the runtime is exiting, as a detached runtime's
// process may: sh would reap a background child that ended before it
// (after any builtin), and its status would be lost to the helper.
const handOff = `echo $! > "$0"; exec 3> "$1"`

// The process the runtime leaves behind is reaped and its code reported,
// without waiting for a background process that still holds the output.
func TestExecHelperReportsOrphanExit(t *testing.T) {
	code, stderr, held := runHelper(t, `(sleep 30 & echo $! > "$0.holder"; read x < "$1"; exit 7) & `+handOff)
	if code != 7 {
		t.Fatalf("exit code %d, want 7; stderr %q", code, stderr)
	}
	if !held {
		t.Error("the helper waited for the background holder of its stdout")
	}
	code, stderr, _ = runHelper(t, `(read x < "$1"; kill -KILL $(exec sh -c 'echo $PPID')) & `+handOff)
	if code != 128+9 {
		t.Errorf("killed process: code %d, want 137; stderr %q", code, stderr)
	}
}

// A failing runtime's code and message come through.
func TestExecHelperRuntimeFailure(t *testing.T) {
	code, stderr, _ := runHelper(t, `echo no such binary >&2; exit 3`)
	if code != 3 || !strings.Contains(stderr, "no such binary") {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
	code, stderr, _ = runHelper(t, `exit 0`) // no pid file written
	if code != monitor.ExecFailed || !strings.Contains(stderr, "pid file") {
		t.Fatalf("missing pid file: code %d stderr %q", code, stderr)
	}
}
