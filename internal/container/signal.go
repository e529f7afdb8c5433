package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// signalInit sends sig to a container's (or a pod infra's) init process.
// SIGKILL goes through a pidfd, which is what `<runtime> kill` does without
// --all, minus a fork and exec of the runtime (10-20 ms under load, on
// every remove and pod stop). Other signals go through the runtime: right
// after a start the process may still be the runtime's init, which loses a
// catchable signal sent before its exec (seen with runc); SIGKILL cannot
// be lost. The runtime also signals when the identity is not recorded.
func signalInit(ctx context.Context, rt interface {
	Kill(context.Context, string, syscall.Signal) error
}, id string, pid int, start uint64, sig syscall.Signal) error {
	if sig == syscall.SIGKILL && pid > 0 && start > 0 {
		err := proc.Signal(pid, start, sig)
		if err == nil || errors.Is(err, proc.ErrGone) {
			return nil
		}
	}
	return rt.Kill(ctx, id, sig)
}

// waitMonitorExit waits, up to timeout, until the monitor serving attach's
// control socket has exited: it does so right after writing the exit record
// of its process. A monitor that is already gone is not waited for; the
// pidfd's readiness is the event, no polling.
func waitMonitorExit(ctx context.Context, attach, exitFile string, timeout time.Duration) {
	if _, err := os.Stat(exitFile); err == nil {
		return
	}
	pid, err := monitor.MonitorPID(ctx, filepath.Join(attach, "ctl"))
	if err != nil {
		return
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}
