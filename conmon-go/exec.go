package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/crio-runtime/crio/pkg/monitor"
	"golang.org/x/sys/unix"
)

// runExec is the exec helper (see pkg/monitor, "Exec helper"): it runs the
// runtime's detached exec, which hands our stdio straight to the process,
// reaps the process as subreaper and exits with its status. The caller's
// pipes may stay open after that (a background process holds them); the
// status is known anyway, which a non-detached runtime only reports once
// every holder is gone.
func runExec(args []string) int {
	if len(args) < 2 {
		fmt.Fprintf(os.Stderr, "conmon-go: usage: %s PID_FILE RUNTIME [ARGS...]\n", monitor.ExecArg)
		return monitor.ExecFailed
	}
	pidFile, argv := args[0], args[1:]
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "conmon-go: subreaper: %v\n", err)
		return monitor.ExecFailed
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = runtimeEnv()
	if err := cmd.Run(); err != nil {
		// The runtime said why on stderr; its code is the exec's, as when
		// the daemon ran it directly.
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "conmon-go: %v\n", err)
		return monitor.ExecFailed
	}
	b, err := os.ReadFile(pidFile)
	pid := 0
	if err == nil {
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if err != nil || pid <= 0 {
		fmt.Fprintf(os.Stderr, "conmon-go: exec pid file %s: %v\n", pidFile, err)
		return monitor.ExecFailed
	}
	ws, err := reapExec(pid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conmon-go: %v\n", err)
		return monitor.ExecFailed
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// reapExec waits for pid, which the detached runtime left to us as
// subreaper; other orphans of the runtime are reaped on the way.
func reapExec(pid int) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			// Not ours (a runtime that reaps it itself): its status is lost,
			// so wait for it to go and say so.
			for unix.Kill(pid, 0) == nil {
				time.Sleep(50 * time.Millisecond)
			}
			return ws, fmt.Errorf("exec process %d was not left to the helper; exit status unknown", pid)
		case err != nil:
			return ws, fmt.Errorf("wait: %w", err)
		case got == pid && (ws.Exited() || ws.Signaled()):
			return ws, nil
		}
	}
}
