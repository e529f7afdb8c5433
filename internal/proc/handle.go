package proc

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Handle is one process (pid and start time) held by a pidfd, so asking
// whether it still runs costs one poll instead of reading /proc: pod lists
// and statuses ask that of every pod's infra process on each call.
type Handle struct {
	pid   int
	start uint64

	mu   sync.Mutex
	fd   int  // -1: none (the kernel has no pidfds, or Close ran): Same decides
	gone bool // the process was seen to exit; it never comes back
}

// Open holds pid if it still is the process that had start time start.
// The check follows the pidfd's open, so the fd cannot name a later
// process that reused the pid.
func Open(pid int, start uint64) *Handle {
	h := &Handle{pid: pid, start: start, fd: -1}
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		h.gone = true
	case err != nil: // no pidfds here: Alive reads /proc
	case !Same(pid, start):
		_ = unix.Close(fd)
		h.gone = true
	default:
		h.fd = fd
	}
	return h
}

// Names reports whether h holds the process pid that had start time start.
func (h *Handle) Names(pid int, start uint64) bool { return h.pid == pid && h.start == start }

// Alive reports whether the process still runs (a zombie does not: a
// pidfd polls readable once its process exited).
func (h *Handle) Alive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone {
		return false
	}
	if h.fd < 0 {
		return Same(h.pid, h.start)
	}
	fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err != nil {
		return Same(h.pid, h.start)
	}
	if n > 0 {
		h.gone = true
		_ = unix.Close(h.fd)
		h.fd = -1
		return false
	}
	return true
}

// Close releases the pidfd; Alive then reads /proc.
func (h *Handle) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fd >= 0 {
		_ = unix.Close(h.fd)
		h.fd = -1
	}
}

// WaitGone waits up to timeout for the process pid that had start time
// start to exit (a zombie counts as gone) and reports whether it did. The
// pidfd's readiness is the event; without pidfds /proc is read every 10 ms.
func WaitGone(pid int, start uint64, timeout time.Duration) bool {
	h := Open(pid, start)
	defer h.Close()
	deadline := time.Now().Add(timeout)
	for {
		h.mu.Lock()
		fd, gone := h.fd, h.gone
		h.mu.Unlock()
		if gone {
			return true
		}
		left := time.Until(deadline)
		if fd < 0 {
			if !Same(pid, start) {
				return true
			}
			if left <= 0 {
				return false
			}
			time.Sleep(min(left, 10*time.Millisecond))
			continue
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(max(left, 0).Milliseconds())+1)
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return !Same(pid, start)
		case n > 0:
			return true
		case left <= 0:
			return false
		}
	}
}
