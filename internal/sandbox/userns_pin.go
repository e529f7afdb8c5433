package sandbox

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// holderArg0 is argv[0] of the short-lived process that creates a pod's
// user namespace: Go cannot unshare CLONE_NEWUSER in a threaded process, so
// the daemon re-executes itself into the new namespaces (as CRI-O's pinns
// does) and pins them from /proc/<pid>/ns while the child waits.
const holderArg0 = "crio-userns-holder"

// The holder only waits for the daemon to close its stdin. This runs in
// every binary linking this package, before main: a plain start never has
// this argv[0].
func init() {
	if len(os.Args) == 1 && os.Args[0] == holderArg0 {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
}

// pinInUserns creates the user namespace with the pod's mappings and
// req.Kinds inside it (so it owns them: containers can then mount /sys,
// /proc and /dev/mqueue), pins them all, then sets the hostname, lo and
// sysctls from a thread that joined them.
func pinInUserns(req PinRequest) (paths map[NS]string, retErr error) {
	paths = map[NS]string{}
	defer func() {
		if retErr != nil {
			_ = Unpin(paths)
			paths = nil
		}
	}()
	flags := unix.CLONE_NEWUSER
	for _, k := range req.Kinds {
		flags |= cloneFlag[k]
	}
	cmd, release, err := holderCommand()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  uintptr(flags),
		UidMappings: sysMaps(req.Userns.UIDs),
		GidMappings: sysMaps(req.Userns.GIDs),
		// setgroups stays allowed: containers joining the namespace set
		// their supplementary groups.
		GidMappingsEnableSetgroups: true,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("create user namespace: %w", err)
	}
	defer release()
	for _, k := range append([]NS{UserNS}, req.Kinds...) {
		p := PinPath(req.Dir, k, req.Name)
		if err := bindFrom(fmt.Sprintf("/proc/%d/ns/%s", cmd.Process.Pid, k), k, p); err != nil {
			return paths, err
		}
		paths[k] = p
	}
	if err := setupInPinned(req, paths, flags); err != nil {
		return paths, err
	}
	return paths, nil
}

// holderCommand is the process that holds the new namespaces while they
// are pinned, and how to end it: the static pause binary beside the daemon
// when there is one (it starts in about a millisecond), else the daemon
// itself, whose start runs every package's init (tens of milliseconds).
func holderCommand() (*exec.Cmd, func(), error) {
	if self, err := os.Executable(); err == nil {
		pause := filepath.Join(filepath.Dir(self), "pause")
		if st, err := os.Stat(pause); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			cmd := &exec.Cmd{Path: pause, Args: []string{"pause"}, Env: []string{}}
			return cmd, func() {
				if cmd.Process != nil {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			}, nil
		}
	}
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{holderArg0}, Env: []string{}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	return cmd, func() {
		stdin.Close()
		if cmd.Process != nil {
			_ = cmd.Wait()
		}
	}, nil
}

func sysMaps(ms []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(ms))
	for _, m := range ms {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

// setupInPinned joins the pinned net, ipc and uts namespaces on a locked
// thread that is thrown away afterwards (never unlocked), and sets them up
// there as Pin does for namespaces it unshares.
func setupInPinned(req PinRequest, paths map[NS]string, flags int) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			for _, k := range req.Kinds {
				if err := setnsPath(paths[k], cloneFlag[k]); err != nil {
					return fmt.Errorf("join pod %s namespace: %w", k, err)
				}
			}
			return setupInside(req, flags)
		}()
	}()
	return <-done
}

func setnsPath(p string, flag int) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setns(fd, flag)
}
