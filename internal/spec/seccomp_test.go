package spec

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const localProfile = `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
 "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"},
             {"names":["mkdir"],"action":"SCMP_ACT_LOG","includes":{"caps":["CAP_SYS_ADMIN"]}}]}`

func TestSeccompSelection(t *testing.T) {
	prof := func(typ runtimeapi.SecurityProfile_ProfileType, ref string) *runtimeapi.SecurityProfile {
		return &runtimeapi.SecurityProfile{ProfileType: typ, LocalhostRef: ref}
	}
	tests := []struct {
		name       string
		profile    *runtimeapi.SecurityProfile
		path       string
		useDefault bool
		privileged bool
		override   string
		want       string // "default", "local", "none"
		errField   string
	}{
		{name: "RuntimeDefault", profile: prof(runtimeapi.SecurityProfile_RuntimeDefault, ""), want: "default"},
		{name: "Unconfined", profile: prof(runtimeapi.SecurityProfile_Unconfined, ""), useDefault: true, want: "none"},
		{name: "Localhost", profile: prof(runtimeapi.SecurityProfile_Localhost, "/var/lib/kubelet/seccomp/p.json"), want: "local"},
		{name: "Localhost with localhost/ prefix", profile: prof(runtimeapi.SecurityProfile_Localhost, "localhost//var/lib/kubelet/seccomp/p.json"), want: "local"},
		{name: "Localhost relative", profile: prof(runtimeapi.SecurityProfile_Localhost, "p.json"), errField: "seccomp.localhost_ref"},
		{name: "Localhost missing names path", profile: prof(runtimeapi.SecurityProfile_Localhost, "/nope.json"), errField: "/nope.json"},
		{name: "Localhost bad json", profile: prof(runtimeapi.SecurityProfile_Localhost, "/bad.json"), errField: "/bad.json"},
		{name: "Localhost unknown syscall", profile: prof(runtimeapi.SecurityProfile_Localhost, "/unknown.json"), errField: "frobnicate"},
		{name: "Localhost unknown arch", profile: prof(runtimeapi.SecurityProfile_Localhost, "/arch.json"), errField: "SCMP_ARCH_VAX"},
		{name: "Localhost bad action", profile: prof(runtimeapi.SecurityProfile_Localhost, "/action.json"), errField: "SCMP_ACT_MAYBE"},
		{name: "empty means default when configured", useDefault: true, want: "default"},
		{name: "empty means unconfined otherwise", want: "none"},
		{name: "deprecated runtime/default", path: "runtime/default", want: "default"},
		{name: "deprecated docker/default", path: "docker/default", want: "default"},
		{name: "deprecated unconfined", path: "unconfined", useDefault: true, want: "none"},
		{name: "deprecated localhost", path: "localhost//var/lib/kubelet/seccomp/p.json", want: "local"},
		{name: "deprecated junk", path: "whatever", errField: "seccomp_profile_path"},
		{name: "field wins over deprecated path", profile: prof(runtimeapi.SecurityProfile_Unconfined, ""), path: "runtime/default", want: "none"},
		{name: "privileged has none", profile: prof(runtimeapi.SecurityProfile_RuntimeDefault, ""), privileged: true, want: "none"},
		{name: "configured default profile", useDefault: true, override: "/var/lib/kubelet/seccomp/p.json", want: "local"},
		{name: "configured default profile missing", useDefault: true, override: "/nope.json", errField: "seccomp_profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			h := newHost()
			h.files["/var/lib/kubelet/seccomp/p.json"] = localProfile
			h.files["/bad.json"] = "{"
			h.files["/unknown.json"] = `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","frobnicate"],"action":"SCMP_ACT_ALLOW"}]}`
			h.files["/arch.json"] = `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_VAX"]}`
			h.files["/action.json"] = `{"defaultAction":"SCMP_ACT_MAYBE"}`
			in.Host = h
			in.Runtime.SeccompUseDefaultWhenEmpty = tt.useDefault
			in.Runtime.SeccompProfilePath = tt.override
			s := sc(&in)
			s.Seccomp, s.SeccompProfilePath, s.Privileged = tt.profile, tt.path, tt.privileged
			res, err := Build(in)
			if tt.errField != "" {
				checkErr(t, err, "invalid", tt.errField)
				return
			}
			checkErr(t, err, "", "")
			got := res.Spec.Linux.Seccomp
			switch tt.want {
			case "none":
				if got != nil {
					t.Fatalf("want no seccomp, got %d rules", len(got.Syscalls))
				}
			case "local":
				if got == nil || len(got.Syscalls) != 1 || got.Syscalls[0].Names[0] != "read" {
					t.Fatalf("want the localhost profile, got %+v", got)
				}
			case "default":
				if got == nil || got.DefaultAction != specs.ActErrno || *got.DefaultErrnoRet != 1 || len(got.Syscalls) < 10 {
					t.Fatalf("want the default profile, got %+v", got)
				}
			}
		})
	}
}

// allowedWithoutArgs says whether the resolved profile allows name
// unconditionally.
func allowedWithoutArgs(s *specs.LinuxSeccomp, name string) bool {
	for _, r := range s.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 && slices.Contains(r.Names, name) {
			return true
		}
	}
	return false
}

func rulesFor(s *specs.LinuxSeccomp, name string) []specs.LinuxSyscall {
	var out []specs.LinuxSyscall
	for _, r := range s.Syscalls {
		if slices.Contains(r.Names, name) {
			out = append(out, r)
		}
	}
	return out
}

func TestDefaultSeccompProfile(t *testing.T) {
	plain, err := DefaultSeccompProfile().Resolve(defaultCaps, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := DefaultSeccompProfile().Resolve(append(slices.Clone(defaultCaps), "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plain.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}) {
		t.Fatalf("arches %v", plain.Architectures)
	}
	for _, name := range []string{"read", "execve", "socket", "futex", "arch_prctl", "getrandom"} {
		if !allowedWithoutArgs(plain, name) {
			t.Errorf("%s not allowed by default", name)
		}
	}
	for _, name := range []string{"mount", "setns", "unshare", "clone", "ptrace", "bpf", "keyctl", "io_uring_setup", "reboot", "init_module", "chroot", "set_tls"} {
		if allowedWithoutArgs(plain, name) {
			t.Errorf("%s allowed without its capability", name)
		}
	}
	// clone and unshare only without namespace flags.
	for name, mask := range map[string]uint64{"clone": cloneNamespaceFlags, "unshare": unshareNamespaceFlags} {
		r := rulesFor(plain, name)
		if len(r) != 1 || r[0].Args[0].Op != specs.OpMaskedEqual || r[0].Args[0].Value != mask || r[0].Args[0].ValueTwo != 0 {
			t.Errorf("%s rules %+v", name, r)
		}
	}
	if r := rulesFor(plain, "clone3"); len(r) != 1 || r[0].Action != specs.ActErrno || *r[0].ErrnoRet != errnoENOSYS {
		t.Errorf("clone3 rules %+v", r)
	}
	for _, name := range []string{"mount", "setns", "unshare", "clone", "clone3", "ptrace", "bpf"} {
		if !allowedWithoutArgs(admin, name) {
			t.Errorf("%s not allowed with CAP_SYS_ADMIN/CAP_SYS_PTRACE", name)
		}
	}
	if r := rulesFor(admin, "clone3"); slices.ContainsFunc(r, func(s specs.LinuxSyscall) bool { return s.Action == specs.ActErrno }) {
		t.Error("clone3 still ENOSYS with CAP_SYS_ADMIN")
	}
	if len(rulesFor(plain, "personality")) != 5 {
		t.Error("personality not restricted by argument")
	}
	arm, err := DefaultSeccompProfile().Resolve(defaultCaps, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if allowedWithoutArgs(arm, "arch_prctl") || !allowedWithoutArgs(arm, "set_tls") {
		t.Error("arch-specific rules not applied for arm64")
	}
	if _, err := DefaultSeccompProfile().Resolve(nil, "vax"); err == nil {
		t.Error("unknown GOARCH accepted")
	}
	// The profile is data: it round-trips through JSON as a Localhost one.
	data, err := json.Marshal(DefaultSeccompProfile())
	if err != nil {
		t.Fatal(err)
	}
	var back SeccompProfile
	if err := json.Unmarshal(data, &back); err != nil || !strings.Contains(string(data), `"archMap"`) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := back.Resolve(defaultCaps, "amd64"); err != nil {
		t.Fatal(err)
	}
}

func TestValidateSeccomp(t *testing.T) {
	good := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
	if err := ValidateSeccomp(good); err != nil {
		t.Fatal(err)
	}
	bad := &specs.LinuxSeccomp{
		DefaultAction: "SCMP_ACT_NOPE",
		Architectures: []specs.Arch{"SCMP_ARCH_Z80"},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "nosuchcall"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 7, Op: specs.OpEqualTo}}},
			{Action: "SCMP_ACT_WHAT"},
		},
	}
	err := ValidateSeccomp(bad)
	for _, want := range []string{"SCMP_ACT_NOPE", "SCMP_ARCH_Z80", "nosuchcall", "index 7", "SCMP_ACT_WHAT", "syscalls[1]: no syscall names"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %q", err, want)
		}
	}
}
