package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// The built-in RuntimeDefault seccomp profile, as data. Everything not
// listed fails with EPERM. Syscalls that the kernel already gates behind a
// capability are listed under that capability so that a container holding
// it (added explicitly) can use them; namespace creation and joining need
// CAP_SYS_ADMIN. io_uring and the key management calls are left out on
// purpose (large attack surface, not namespaced).

// Namespace flags of clone(2)/unshare(2). CLONE_NEWTIME shares its bit
// with the exit signal byte of clone(2), so it is only masked for unshare.
const (
	cloneNamespaceFlags   = 0x7E020000 // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
	unshareNamespaceFlags = cloneNamespaceFlags | 0x80
	errnoEPERM            = 1
	errnoENOSYS           = 38
)

// seccompAllowed is allowed for every container on every arch.
var seccompAllowed = []string{
	// files and descriptors
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "openat2", "close", "close_range", "creat",
	"lseek", "_llseek", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64",
	"ioctl", "flock", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
	"sync_file_range2", "truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate",
	"fadvise64", "fadvise64_64", "readahead", "sendfile", "sendfile64", "splice", "tee",
	"vmsplice", "copy_file_range", "memfd_create",
	// metadata and directories
	"stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat", "fstatat64",
	"statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat",
	"faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "chdir", "fchdir",
	"getcwd", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link",
	"linkat", "symlink", "symlinkat", "unlink", "unlinkat", "chmod", "fchmod", "fchmodat",
	"chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask",
	"utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "mknod", "mknodat",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
	"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	"fanotify_mark", "name_to_handle_at",
	// memory
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mlock", "mlock2",
	"munlock", "mlockall", "munlockall", "msync", "mincore", "remap_file_pages",
	"membarrier", "pkey_alloc", "pkey_free", "pkey_mprotect",
	// processes and identity
	"exit", "exit_group", "execve", "execveat", "fork", "vfork", "wait4", "waitid",
	"waitpid", "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid",
	"setpgid", "getpgrp", "getsid", "setsid", "getuid", "getuid32", "geteuid",
	"geteuid32", "getgid", "getgid32", "getegid", "getegid32", "setuid", "setuid32",
	"setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid",
	"setresuid32", "setresgid", "setresgid32", "getresuid", "getresuid32", "getresgid",
	"getresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "getgroups",
	"getgroups32", "setgroups", "setgroups32", "capget", "capset", "prctl",
	"getpriority", "setpriority", "ioprio_get", "ioprio_set", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
	"sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
	"sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_getattr", "sched_setattr", "getrlimit", "setrlimit", "ugetrlimit", "prlimit64",
	"getrusage", "times", "uname", "sysinfo", "getrandom", "set_tid_address",
	"set_robust_list", "get_robust_list", "rseq", "restart_syscall", "pause", "getcpu",
	"seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	"pidfd_open", "pidfd_send_signal", "pidfd_getfd",
	// signals
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
	"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"sigaltstack", "signalfd", "signalfd4", "sigreturn", "sigprocmask", "sigsuspend",
	"sigpending", "signal", "sigaction",
	// time and timers
	"time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
	"clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep",
	"alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_settime",
	"timer_settime64", "timer_gettime", "timer_gettime64", "timer_getoverrun",
	"timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime",
	"timerfd_gettime64",
	// waiting and async I/O
	"select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll",
	"ppoll_time64", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
	"epoll_wait", "epoll_wait_old", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	"futex", "futex_time64", "futex_waitv", "io_setup", "io_destroy", "io_submit",
	"io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
	// sockets
	"socket", "socketpair", "bind", "connect", "listen", "accept", "accept4",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64", "shutdown",
	"socketcall", "send", "recv",
	// System V and POSIX IPC (namespaced per pod)
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "ipc",
	"mq_open", "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
	"mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
}

// seccompByCap lists syscalls allowed only with a capability.
var seccompByCap = []struct {
	caps     []string // all required
	syscalls []string
}{
	{[]string{"CAP_SYS_ADMIN"}, []string{
		"mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount",
		"fspick", "move_mount", "open_tree", "mount_setattr", "setns", "clone3",
		"unshare", "clone", "sethostname", "setdomainname", "swapon", "swapoff", "quotactl",
		"fanotify_init", "lookup_dcookie", "bpf", "perf_event_open", "syslog",
	}},
	{[]string{"CAP_BPF"}, []string{"bpf"}},
	{[]string{"CAP_PERFMON"}, []string{"perf_event_open"}},
	{[]string{"CAP_SYSLOG"}, []string{"syslog"}},
	{[]string{"CAP_DAC_READ_SEARCH"}, []string{"open_by_handle_at"}},
	{[]string{"CAP_SYS_BOOT"}, []string{"reboot", "kexec_load", "kexec_file_load"}},
	{[]string{"CAP_SYS_CHROOT"}, []string{"chroot"}},
	{[]string{"CAP_SYS_MODULE"}, []string{"init_module", "finit_module", "delete_module"}},
	{[]string{"CAP_SYS_PACCT"}, []string{"acct"}},
	{[]string{"CAP_SYS_PTRACE"}, []string{
		"ptrace", "kcmp", "process_vm_readv", "process_vm_writev", "userfaultfd",
	}},
	{[]string{"CAP_SYS_RAWIO"}, []string{"iopl", "ioperm"}},
	{[]string{"CAP_SYS_TIME"}, []string{
		"settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex",
		"clock_adjtime", "clock_adjtime64",
	}},
	{[]string{"CAP_SYS_TTY_CONFIG"}, []string{"vhangup"}},
	{[]string{"CAP_SYS_NICE"}, []string{
		"get_mempolicy", "set_mempolicy", "mbind", "migrate_pages", "move_pages",
	}},
}

// seccompByArch lists arch-specific syscalls, keyed by libseccomp arch name.
var seccompByArch = []struct {
	arches   []string
	syscalls []string
}{
	{[]string{"x86_64", "x86", "x32"}, []string{
		"arch_prctl", "modify_ldt", "set_thread_area", "get_thread_area",
	}},
	{[]string{"aarch64", "arm"}, []string{
		"arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
	}},
}

// DefaultSeccompProfile returns a fresh copy of the built-in profile.
func DefaultSeccompProfile() *SeccompProfile {
	errno := func(n uint) *uint { return &n }
	p := &SeccompProfile{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: errno(errnoEPERM),
		ArchMap: []SeccompArchMap{
			{Arch: specs.ArchX86_64, SubArch: []specs.Arch{specs.ArchX86, specs.ArchX32}},
			{Arch: specs.ArchAARCH64, SubArch: []specs.Arch{specs.ArchARM}},
			{Arch: specs.ArchPPC64LE},
			{Arch: specs.ArchS390X, SubArch: []specs.Arch{specs.ArchS390}},
			{Arch: specs.ArchRISCV64},
		},
	}
	allow := func(names []string) SeccompRule {
		return SeccompRule{Names: append([]string{}, names...), Action: specs.ActAllow}
	}
	p.Syscalls = append(p.Syscalls, allow(seccompAllowed))
	// personality: only the harmless personas (linux, linux32, addr
	// randomisation off) and the query value.
	for _, v := range []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff} {
		r := allow([]string{"personality"})
		r.Args = []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}
		p.Syscalls = append(p.Syscalls, r)
	}
	// Without CAP_SYS_ADMIN: clone/unshare without namespace flags; clone3
	// cannot be filtered by flags (they live in memory) so it reports ENOSYS
	// and libc falls back to clone.
	withAdmin := SeccompFilter{Caps: []string{"CAP_SYS_ADMIN"}}
	clone := allow([]string{"clone"})
	clone.Args = []specs.LinuxSeccompArg{{Index: 0, Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}
	clone.Excludes = SeccompFilter{Caps: withAdmin.Caps, Arches: []string{"s390", "s390x"}}
	cloneS390 := allow([]string{"clone"})
	cloneS390.Args = []specs.LinuxSeccompArg{{Index: 1, Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}
	cloneS390.Includes = SeccompFilter{Arches: []string{"s390", "s390x"}}
	cloneS390.Excludes = withAdmin
	unshare := allow([]string{"unshare"})
	unshare.Args = []specs.LinuxSeccompArg{{Index: 0, Value: unshareNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}
	unshare.Excludes = withAdmin
	clone3 := SeccompRule{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: errno(errnoENOSYS), Excludes: withAdmin}
	p.Syscalls = append(p.Syscalls, clone, cloneS390, unshare, clone3)
	for _, c := range seccompByCap {
		r := allow(c.syscalls)
		r.Includes = SeccompFilter{Caps: append([]string{}, c.caps...)}
		p.Syscalls = append(p.Syscalls, r)
	}
	for _, a := range seccompByArch {
		r := allow(a.syscalls)
		r.Includes = SeccompFilter{Arches: append([]string{}, a.arches...)}
		p.Syscalls = append(p.Syscalls, r)
	}
	return p
}
