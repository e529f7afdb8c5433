package spec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The infra's seccomp allowlist: what the built-in pause binary (a static
// Go program that waits for signals and reaps children) and the runtime's
// last steps before its exec call. Everything else fails with EPERM, so a
// call the Go runtime only tries (reading /sys, prctl, prlimit64) fails
// softly. Found by running pause under runc 1.1 and 1.5 with the default
// action set to log.
var infraAllowed = []string{
	// the Go runtime: memory, threads, signals, time, its netpoller
	"arch_prctl", "mmap", "munmap", "mprotect", "madvise", "futex", "nanosleep",
	"clock_gettime", "clock_nanosleep", "sched_yield", "sched_getaffinity", "gettid",
	"getpid", "getrandom", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sigaltstack", "restart_syscall", "epoll_create1", "epoll_ctl", "epoll_pwait",
	"epoll_wait", "eventfd2", "fcntl", "read", "write", "close", "exit", "exit_group",
	// pause itself: reap the pod's orphans
	"wait4", "waitid",
	// the runtime between loading the filter and exec: reopen the exec
	// fifo, close inherited fds (by listing /proc/self/fd), check fds
	"execve", "execveat", "fstat", "newfstatat", "statx", "fstatfs", "readlinkat",
	"getdents64",
}

// InfraSeccomp returns the infra's filter for goarch (native calls only:
// pause makes no 32-bit ones).
func InfraSeccomp(goarch string) (*specs.LinuxSeccomp, error) {
	arch, ok := goarchToSeccomp[goarch]
	if !ok {
		return nil, fmt.Errorf("no seccomp architecture for %s", goarch)
	}
	eperm, enosys := uint(errnoEPERM), uint(errnoENOSYS)
	rules := []specs.LinuxSyscall{
		{Names: append([]string{}, infraAllowed...), Action: specs.ActAllow},
		// Threads, never namespaces (a new user namespace needs no
		// capability).
		{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: cloneFlagsArg(goarch), Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		// Signals to its own threads only: pause is PID 1 of its namespace.
		{Names: []string{"tgkill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}},
		// Opens that create nothing (runc reopens its fifo and lists
		// /proc/self/fd); openat2's flags sit in memory where a filter cannot
		// see them, so it reports ENOSYS and runc falls back to openat.
		{Names: []string{"openat"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 2, Value: unix.O_CREAT | unix.O_TMPFILE&^unix.O_DIRECTORY, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		{Names: []string{"openat2", "clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
	}
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm,
		Architectures: []specs.Arch{arch},
		Syscalls:      rules,
	}, nil
}

// cloneFlagsArg is the argument of clone(2) that holds its flags.
func cloneFlagsArg(goarch string) uint {
	if goarch == "s390x" {
		return 1
	}
	return 0
}
