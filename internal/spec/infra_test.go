package spec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestInfraSpec(t *testing.T) {
	ns := []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/run/netns/x"}}
	for name, tc := range map[string]struct {
		in         InfraInput
		pidOnly    bool
		masks, sec bool
	}{
		"built-in pause, new kernel": {InfraInput{BuiltinPause: true, PidOnlyProc: true}, true, false, true},
		"built-in pause, old kernel": {InfraInput{BuiltinPause: true}, false, true, true},
		"pause_image":                {InfraInput{PidOnlyProc: true}, true, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Rootfs, in.Command, in.CgroupsPath, in.Namespaces, in.GOARCH = "/rootfs", "/pause", "/crio-x", ns, "amd64"
			s, err := Infra(in)
			if err != nil {
				t.Fatal(err)
			}
			if !s.Root.Readonly || !s.Process.NoNewPrivileges || s.Process.Capabilities == nil ||
				len(s.Process.Capabilities.Bounding)+len(s.Process.Capabilities.Effective)+len(s.Process.Capabilities.Permitted) != 0 {
				t.Errorf("infra must run read-only, without new privileges or capabilities: %+v %+v", s.Root, s.Process)
			}
			if got := s.Linux.Namespaces; len(got) != 3 || got[0].Type != specs.PIDNamespace || got[0].Path != "" || got[2] != ns[0] {
				t.Errorf("namespaces: %+v", got)
			}
			var proc *specs.Mount
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/proc" {
					proc = &s.Mounts[i]
				}
				if s.Mounts[i].Destination == "/sys" {
					t.Error("pause needs no /sys")
				}
			}
			if proc == nil || slices.Contains(proc.Options, "subset=pid") != tc.pidOnly {
				t.Errorf("/proc: %+v, want subset=pid %v", proc, tc.pidOnly)
			}
			if (len(s.Linux.MaskedPaths) > 0) != tc.masks || (len(s.Linux.ReadonlyPaths) > 0) != tc.masks {
				t.Errorf("masked %v readonly %v, want them %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths, tc.masks)
			}
			if (s.Linux.Seccomp != nil) != tc.sec {
				t.Errorf("seccomp %+v, want one %v", s.Linux.Seccomp, tc.sec)
			}
		})
	}
}

// infraRule is the rule of sc naming syscall, if any.
func infraRule(sc *specs.LinuxSeccomp, syscall string) *specs.LinuxSyscall {
	for i := range sc.Syscalls {
		if slices.Contains(sc.Syscalls[i].Names, syscall) {
			return &sc.Syscalls[i]
		}
	}
	return nil
}

func TestInfraSeccomp(t *testing.T) {
	sc, err := InfraSeccomp("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateSeccomp(sc); err != nil {
		t.Fatalf("libseccomp rejects the infra profile: %v", err)
	}
	if sc.DefaultAction != specs.ActErrno || len(sc.Architectures) != 1 || sc.Architectures[0] != specs.ArchX86_64 {
		t.Errorf("default %s arches %v: want EPERM for anything unlisted, native calls only", sc.DefaultAction, sc.Architectures)
	}
	// Calls the default profile allows that pause must not make.
	for _, name := range []string{"socket", "connect", "kill", "ptrace", "mount", "unshare", "setns", "prlimit64",
		"keyctl", "bpf", "io_uring_setup", "mknodat", "unlinkat", "chmod", "setuid", "prctl", "open", "personality"} {
		if r := infraRule(sc, name); r != nil {
			t.Errorf("%s must fall to the default (EPERM), has rule %+v", name, r)
		}
	}
	for _, name := range []string{"wait4", "rt_sigaction", "futex", "execve", "getdents64"} {
		if r := infraRule(sc, name); r == nil || r.Action != specs.ActAllow || len(r.Args) != 0 {
			t.Errorf("%s: pause or runc needs it: %+v", name, r)
		}
	}
	// Allowed only with argument checks.
	for name, arg := range map[string]specs.LinuxSeccompArg{
		"clone":  {Index: 0, Value: cloneNamespaceFlags, Op: specs.OpMaskedEqual},
		"tgkill": {Index: 0, Value: 1, Op: specs.OpEqualTo},
		"openat": {Index: 2, Value: 0x40 | 0x400000, Op: specs.OpMaskedEqual}, // O_CREAT|__O_TMPFILE
	} {
		if r := infraRule(sc, name); r == nil || len(r.Args) != 1 || r.Args[0] != arg {
			t.Errorf("%s: want only %+v, have %+v", name, arg, r)
		}
	}
	if r := infraRule(sc, "openat2"); r == nil || r.Action != specs.ActErrno || r.ErrnoRet == nil || *r.ErrnoRet != errnoENOSYS {
		t.Errorf("openat2 must report ENOSYS (its flags cannot be filtered; runc falls back to openat): %+v", r)
	}
	if _, err := InfraSeccomp("nosucharch"); err == nil {
		t.Error("an unknown arch must be an error")
	}
}
