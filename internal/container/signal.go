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

// signalInit sends sig to a container's (or a pod infra's) init process
// through a pidfd, which is what `<runtime> kill` does without --all, minus
// a fork and exec of the runtime (about 7 ms of CPU, 10-20 ms under load,
// on every stop). SIGKILL always goes that way; a catchable signal only
// once the runtime says the process runs the container's command: right
// after a start it may still be the runtime's init, which such a signal
// kills before the command's handler exists (seen with runc). Otherwise,
// and when the identity is not recorded, the runtime signals.
func signalInit(ctx context.Context, rt interface {
	Kill(context.Context, string, syscall.Signal) error
	PastInit(int) bool
}, id string, pid int, start uint64, sig syscall.Signal) error {
	if pid > 0 && start > 0 && (sig == syscall.SIGKILL || rt.PastInit(pid)) {
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
