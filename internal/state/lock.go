package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockFile is the name of the lock inside a state dir.
const LockFile = "crio.lock"

// Lock is an exclusive flock on a state dir, held while a daemon (or an
// operator command such as crio wipe) uses it. The kernel drops it when the
// process dies, so a crash never leaves a stale lock; the descriptor is
// close-on-exec, so monitors the daemon starts do not inherit it.
type Lock struct{ f *os.File }

// ErrLocked is wrapped by LockDir when another process holds the lock.
var ErrLocked = errors.New("another crio is running on the same state")

// LockDir takes the lock of dir, creating dir if needed, and records this
// process's pid in it. When another process holds it the error names that
// process's pid.
func LockDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	p := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := "unknown"
		if b, rerr := os.ReadFile(p); rerr == nil && strings.TrimSpace(string(b)) != "" {
			holder = strings.TrimSpace(string(b))
		}
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("state dir %s is locked by crio pid %s: %w", dir, holder, ErrLocked)
		}
		return nil, fmt.Errorf("state lock %s: %w", p, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("state lock: %w", err)
		}
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
