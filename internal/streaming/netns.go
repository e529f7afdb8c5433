package streaming

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// dialInNetNS connects to localhost:port inside the network namespace at
// netns ("" is the host's): 127.0.0.1 first, then ::1 for IPv6-only
// listeners.
func dialInNetNS(ctx context.Context, netns string, port int) (*net.TCPConn, error) {
	var conn net.Conn
	err := inNetNS(netns, func() error {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		var d net.Dialer
		var err error
		p := strconv.Itoa(port)
		conn, err = d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", p))
		if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			if c6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", p)); err6 == nil {
				conn, err = c6, nil
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect to port %d in the pod: %w", port, err)
	}
	return conn.(*net.TCPConn), nil
}

// inNetNS runs fn on an OS thread that joined the namespace; sockets fn
// creates stay in it. The thread returns to the daemon's namespace after,
// or is thrown away if that fails.
func inNetNS(netns string, fn func() error) error {
	if netns == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		errc <- runLocked(netns, fn)
	}()
	return <-errc
}

// runLocked must run on a locked thread. It leaves the thread locked (so it
// dies with its goroutine) unless it is back in its original namespace.
func runLocked(netns string, fn func() error) error {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return fmt.Errorf("open own netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(netns)
	if err != nil {
		return fmt.Errorf("open pod netns: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", netns, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
		goruntime.UnlockOSThread()
	}
	return fnErr
}
