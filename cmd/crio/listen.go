package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// refuseServed fails when a daemon answers on the socket at path. It runs
// before the state is read, too: a daemon whose state lock file was
// deleted under it (an `rm -rf` of the state dir) must not have its pods'
// files swept by a second daemon that took a new lock.
func refuseServed(path string) error {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("another daemon is serving on %s", path)
	}
	return nil
}

// listen opens the CRI socket: root-owned, mode 0660, in a 0700-or-stricter
// parent it creates. A stale socket is replaced; one that answers belongs to
// a running daemon and is left alone.
func listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		if err := refuseServed(path); err != nil {
			return nil, err
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	// The umask closes the window between bind and chmod.
	old := syscall.Umask(0o117)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chown(path, 0, 0); err != nil {
		l.Close()
		return nil, fmt.Errorf("chown socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return l, nil
}
