package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// runHelper runs the exec helper with sh standing in for a detached
// runtime, its stdout a pipe whose read end the test keeps.
func runHelper(t *testing.T, script string) (code int, stderr string, elapsed time.Duration) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
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
	cmd := exec.Command(monitorBinary(t), monitor.ExecArg, pidFile, "sh", "-c", script, pidFile)
	cmd.Stdout, cmd.Stderr = w, errOut
	start := time.Now()
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
	took := time.Since(start)
	msg, _ := os.ReadFile(errOut.Name())
	return cmd.ProcessState.ExitCode(), string(msg), took
}

// The process the runtime leaves behind is reaped and its code reported,
// without waiting for a background process that still holds the output.
func TestExecHelperReportsOrphanExit(t *testing.T) {
	code, stderr, took := runHelper(t, `(sleep 3 & sleep 0.2; exit 7) & echo $! > "$0"`)
	if code != 7 {
		t.Fatalf("exit code %d, want 7; stderr %q", code, stderr)
	}
	if took > 2*time.Second {
		t.Errorf("helper waited %s: for the background holder of its stdout", took)
	}
	code, _, _ = runHelper(t, `(kill -KILL $(sh -c 'echo $PPID')) & echo $! > "$0"`)
	if code != 128+9 {
		t.Errorf("killed process: code %d, want 137", code)
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
