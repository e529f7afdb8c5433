package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Sockets are plain *os.File on non-blocking descriptors rather than net
// conns: the monitor links this package, and leaving out package net keeps
// it a static, cgo-free binary with a smaller footprint.

// dialUnix connects to a unix socket of the given type (unix.SOCK_STREAM or
// unix.SOCK_SEQPACKET).
func dialUnix(ctx context.Context, typ int, path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("dial monitor: %w", err)
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			break
		}
		// The listen backlog is full; unix sockets do not signal when it
		// drains, so poll.
		select {
		case <-ctx.Done():
			unix.Close(fd)
			return nil, fmt.Errorf("dial monitor: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
			return nil, fmt.Errorf("%w: connect %s: %w", ErrMonitorGone, path, err)
		}
		return nil, fmt.Errorf("dial monitor %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}
