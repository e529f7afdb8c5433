package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

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
	// ForkExec and our own wait4 rather than os/exec: the first os/exec
	// start in a process forks once more to probe for pidfd support.
	path, err := exec.LookPath(argv[0])
	if err == nil {
		path, err = filepath.Abs(path)
	}
	files := []uintptr{0, 1, 2}
	if argv[0] == monitor.SealedRuntimePath {
		files = append(files, 3) // the daemon's sealed runtime copy, which the path names
	}
	var runtimePid int
	if err == nil {
		runtimePid, err = syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: runtimeEnv(), Files: files})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "conmon-go: %s: %v\n", argv[0], err)
		return monitor.ExecFailed
	}
	// The exec'd process, left to us, may end before the runtime does.
	exits := map[int]unix.WaitStatus{}
	ws, err := reapUntil(runtimePid, exits)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conmon-go: %v\n", err)
		return monitor.ExecFailed
	}
	if code := exitCode(ws); code != 0 {
		// The runtime said why on stderr; its code is the exec's, as when
		// the daemon ran it directly.
		return code
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
	ws, ok := exits[pid]
	if !ok {
		if ws, err = reapUntil(pid, exits); err != nil {
			fmt.Fprintf(os.Stderr, "conmon-go: %v\n", err)
			return monitor.ExecFailed
		}
	}
	return exitCode(ws)
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
