package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/proc"
)

// NS is a namespace kind the daemon creates and pins for a pod.
type NS string

// The pinned kinds; the directory names are CRI-O's (ip netns lists netns/).
const (
	NetNS NS = "net"
	IPCNS NS = "ipc"
	UTSNS NS = "uts"
	// PIDNS is the infra process's PID namespace, pinned once it runs.
	PIDNS NS = "pid"
)

var cloneFlag = map[NS]int{NetNS: unix.CLONE_NEWNET, IPCNS: unix.CLONE_NEWIPC, UTSNS: unix.CLONE_NEWUTS}

// PinPath is where namespace kind of pod name is pinned under dir.
func PinPath(dir string, kind NS, name string) string {
	return filepath.Join(dir, string(kind)+"ns", name)
}

// PinRequest says what to create.
type PinRequest struct {
	Dir      string // namespaces_dir
	Name     string // file name, unique per pod
	Kinds    []NS
	Hostname string            // set in the new UTS namespace
	Sysctls  map[string]string // applied inside the new namespaces
}

// Pin creates the namespaces on a locked OS thread that unshares them, sets
// the hostname, brings lo up, applies sysctls and bind-mounts
// /proc/thread-self/ns/* under Dir. The thread is never unlocked, so Go
// throws it away with its goroutine instead of reusing a thread that lives
// in a pod's namespaces. On error nothing stays pinned.
func Pin(req PinRequest) (map[NS]string, error) {
	type result struct {
		paths map[NS]string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		paths, err := pinOnThisThread(req)
		done <- result{paths, err}
	}()
	r := <-done
	return r.paths, r.err
}

func pinOnThisThread(req PinRequest) (paths map[NS]string, retErr error) {
	paths = map[NS]string{}
	defer func() {
		if retErr != nil {
			Unpin(paths)
			paths = nil
		}
	}()
	flags := 0
	for _, k := range req.Kinds {
		flags |= cloneFlag[k]
	}
	if flags == 0 {
		return paths, nil
	}
	if err := unix.Unshare(flags); err != nil {
		return nil, fmt.Errorf("unshare namespaces: %w", err)
	}
	if flags&unix.CLONE_NEWUTS != 0 && req.Hostname != "" {
		if err := unix.Sethostname([]byte(req.Hostname)); err != nil {
			return nil, fmt.Errorf("set hostname: %w", err)
		}
	}
	if flags&unix.CLONE_NEWNET != 0 {
		if err := loopbackUp(); err != nil {
			return nil, err
		}
	}
	for name, val := range req.Sysctls {
		p := SysctlPath(name)
		if err := os.WriteFile(p, []byte(val), 0o644); err != nil {
			// No such sysctl, a value the kernel refuses, a read-only one:
			// all are the request's fault.
			return nil, errdefs.Invalid("", "config.linux.sysctls[%s]: cannot set %s: %w", name, Short(val), err)
		}
	}
	for _, k := range req.Kinds {
		p := PinPath(req.Dir, k, req.Name)
		if err := bindNS(k, p); err != nil {
			return paths, err
		}
		paths[k] = p
	}
	return paths, nil
}

// PinPID pins the PID namespace of the infra process pid under dir. The
// process must still have start time start after the bind mount, so a pid
// that was reused by another process is never pinned.
func PinPID(dir, name string, pid int, start uint64) (string, error) {
	p := PinPath(dir, PIDNS, name)
	if err := bindFrom(fmt.Sprintf("/proc/%d/ns/pid", pid), PIDNS, p); err != nil {
		return "", err
	}
	if !proc.Same(pid, start) {
		_ = Unpin(map[NS]string{PIDNS: p})
		return "", fmt.Errorf("pin pid namespace: infra process %d exited", pid)
	}
	return p, nil
}

func bindNS(kind NS, path string) error {
	return bindFrom("/proc/thread-self/ns/"+string(kind), kind, path)
}

func bindFrom(src string, kind NS, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("pin %s namespace: %w", kind, err)
	}
	f.Close()
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("pin %s namespace at %s: %w", kind, path, err)
	}
	return nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// pinsOf is every path a namespace of pod name may be pinned at.
func pinsOf(dir, name string) map[NS]string {
	out := map[NS]string{}
	for _, k := range []NS{NetNS, IPCNS, UTSNS, PIDNS} {
		out[k] = PinPath(dir, k, name)
	}
	return out
}

// Unpin unmounts and removes pinned namespaces; missing ones are fine, so it
// is safe to call again after a crash.
func Unpin(paths map[NS]string) error {
	var errs []error
	for _, p := range paths {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
