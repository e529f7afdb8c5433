package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Start runs the created container's process; pid is its init process.
//
// After "runc create" the container's init blocks opening runc's exec
// fifo (<root>/<id>/exec.fifo) for writing; "runc start" only reads that
// fifo and removes it. Doing the same here saves an exec of the runtime,
// about 7 ms of a 50 ms create+start. Other runtimes (crun runs poststart
// hooks in its start), containers created with a notify socket, or a fifo
// not where runc puts it go through "<runtime> start".
func (r *Runtime) Start(ctx context.Context, id string, pid int) error {
	if fifo, ok := r.execFifo(id); ok && pid > 0 {
		err := startByFifo(ctx, fifo, pid)
		if !errors.Is(err, errNoFastStart) {
			if err != nil {
				return fmt.Errorf("%s start: %w", r.Name, err)
			}
			return nil
		}
	}
	_, err := r.run(ctx, nil, "start", id)
	return err
}

// PastInit reports whether pid, the init process of one of this runtime's
// containers, has exec'd the container's command. Only runc is known here:
// until its exec the process is runc's own init ("runc:[2:INIT]"), which a
// catchable signal kills with the runtime's default action instead of
// reaching the command's handler. Other runtimes report false.
func (r *Runtime) PastInit(pid int) bool {
	if filepath.Base(r.Path) != "runc" || pid <= 0 {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && !strings.HasPrefix(string(comm), "runc:[")
}

// execFifo is runc's exec fifo of container id, if this runtime is runc
// and the fifo is there (the container is created, not yet started).
func (r *Runtime) execFifo(id string) (string, bool) {
	dir, ok := r.runcStateDir(id)
	if !ok {
		return "", false
	}
	fifo := filepath.Join(dir, "exec.fifo")
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return "", false
	}
	// runc start also relays a notify socket set up at create.
	if _, err := os.Lstat(filepath.Join(dir, "notify")); err == nil {
		return "", false
	}
	return fifo, true
}

// StartedPerState reports whether runc's state directory of container id
// shows its process was started: create makes the exec fifo, and a start
// (runc's, or Start's read of the fifo) removes it. Other runtimes, or no
// state directory: false.
func (r *Runtime) StartedPerState(id string) bool {
	dir, ok := r.runcStateDir(id)
	if !ok {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		return false
	}
	_, err := os.Lstat(filepath.Join(dir, "exec.fifo"))
	return errors.Is(err, os.ErrNotExist)
}

// runcStateDir is runc's state directory of container id, <root>/<id>, if
// this runtime is runc with a root and id a plain name that stays in it.
func (r *Runtime) runcStateDir(id string) (string, bool) {
	if filepath.Base(r.Path) != "runc" || r.Root == "" || id == "" || id == "." || id == ".." || filepath.Base(id) != id {
		return "", false
	}
	return filepath.Join(r.Root, id), true
}

// errNoFastStart: the fifo could not be used; runc start decides.
var errNoFastStart = errors.New("exec fifo not usable")

// fifoPoll is how often a wait on the fifo looks at ctx.
const fifoPoll = 100 * time.Millisecond

// startByFifo reads the byte the container's init writes to the exec fifo,
// which lets init exec the container's process, then removes the fifo
// (runc's state then reads "running"). The fifo is opened read-write so the
// open never blocks; a pidfd of init ends the wait if init dies first.
func startByFifo(ctx context.Context, fifo string, pid int) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errNoFastStart // no pidfd support, or init is gone: runc start says which
	}
	defer unix.Close(pidfd)
	fd, err := unix.Open(fifo, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return errNoFastStart
	}
	defer unix.Close(fd)
	if st := (unix.Stat_t{}); unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return errNoFastStart // not runc's fifo: runc start decides
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fds[0].Revents, fds[1].Revents = 0, 0
		n, err := unix.Poll(fds, int(fifoPoll/time.Millisecond))
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait on exec fifo: %w", err)
		}
		// Read what init wrote, also if it has exited since (as runc does).
		var buf [16]byte
		got, rerr := unix.Read(fd, buf[:])
		if got > 0 {
			break
		}
		if fds[1].Revents != 0 {
			return errors.New("container process is already dead")
		}
		if rerr != nil && !errors.Is(rerr, unix.EAGAIN) && !errors.Is(rerr, unix.EINTR) {
			return fmt.Errorf("read exec fifo: %w", rerr)
		}
	}
	if err := os.Remove(fifo); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	return nil
}
