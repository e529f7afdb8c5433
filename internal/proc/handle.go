package proc

import (
	"errors"
	"sync"

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
