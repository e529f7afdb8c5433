// Package pid1 lets crio run as the first process of a PID namespace (a
// container's entrypoint, with no init in front of it).
//
// Every process whose parent exits is handed to PID 1: the detached
// monitors, the pause of a shared-PID pod once its `runc create` returns,
// a probe's leftovers. An init reaps them; the daemon cannot (its children
// are waited for one by one by os/exec, and a wait for any child would
// take their statuses from them), so they would stay zombies, one per
// container that ever stopped, until the namespace runs out of PIDs. As
// PID 1, crio therefore starts itself again as its child and stays behind
// as a small init: it reaps every child, passes the signals the daemon
// acts on to it, and exits with the daemon's status.
package pid1

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals passed on to the daemon, those it acts on:
// stop (TERM, INT; QUIT dumps the stacks and exits), reload (HUP), dump
// the stacks (USR1). PID 1 ignores every signal it has no handler for, so
// the rest are dropped, as they were before.
var Forwarded = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP, unix.SIGUSR1}

// Run starts path with args (args[0] included) as the only child it waits
// for, with this process's stdio and environment, reaps every process
// handed to it until that child exits, and returns the child's exit code
// (128+n when a signal n ended it).
func Run(path string, args []string) (int, error) {
	sigs := make(chan os.Signal, 16)
	// Subscribed before the child starts: a signal in between is queued,
	// and a child that exits at once still raises SIGCHLD.
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, Forwarded...)...)
	defer signal.Stop(sigs)
	cmd := &exec.Cmd{Path: path, Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	child := cmd.Process.Pid
	// What the binary's package initialisers allocated is garbage here:
	// give it back, the init idles for the daemon's whole life.
	debug.FreeOSMemory()
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			_ = unix.Kill(child, sig.(syscall.Signal))
			continue
		}
		if code, done := reap(child); done {
			return code, nil
		}
	}
	return 1, errors.New("signal channel closed")
}

// reap collects every exited child; done when one of them is main. SIGCHLD
// is not queued per child, so one delivery may stand for several exits.
func reap(main int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid == main {
			code, done = exitCode(ws), true
		}
	}
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// Self is the path to start this binary again: its own path, so the
// daemon keeps its name in ps and pgrep (/proc/self/exe would be "exe"),
// else /proc/self/exe (the binary was replaced), else what started it.
func Self() string {
	if p, err := os.Executable(); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe"
	}
	if p, err := exec.LookPath(os.Args[0]); err == nil {
		return p
	}
	return os.Args[0]
}
