package spec

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/procattr"
)

// SeccompProfile is the JSON profile format accepted for Localhost and for
// the built-in default: the OCI LinuxSeccomp fields plus the Docker-style
// archMap and per-rule includes/excludes (capabilities, arches).
type SeccompProfile struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures   []specs.Arch             `json:"architectures,omitempty"`
	ArchMap         []SeccompArchMap         `json:"archMap,omitempty"`
	Flags           []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	ListenerPath    string                   `json:"listenerPath,omitempty"`
	Syscalls        []SeccompRule            `json:"syscalls,omitempty"`
}

// SeccompArchMap maps a native arch to the sub-architectures it also runs.
type SeccompArchMap struct {
	Arch    specs.Arch   `json:"architecture"`
	SubArch []specs.Arch `json:"subArchitectures,omitempty"`
}

// SeccompRule is one syscall rule; Includes/Excludes select it by the
// container's capabilities and the native arch.
type SeccompRule struct {
	Name     string                   `json:"name,omitempty"`
	Names    []string                 `json:"names,omitempty"`
	Action   specs.LinuxSeccompAction `json:"action"`
	ErrnoRet *uint                    `json:"errnoRet,omitempty"`
	Args     []specs.LinuxSeccompArg  `json:"args,omitempty"`
	Includes SeccompFilter            `json:"includes,omitempty"`
	Excludes SeccompFilter            `json:"excludes,omitempty"`
}

// SeccompFilter selects a rule: every listed cap present / arch native
// (includes) or any of them (excludes).
type SeccompFilter struct {
	Caps   []string `json:"caps,omitempty"`
	Arches []string `json:"arches,omitempty"`
}

const (
	seccompRuntimeDefault = "runtime/default"
	seccompDockerDefault  = "docker/default"
	seccompUnconfined     = "unconfined"
	seccompLocalhost      = "localhost/"
)

// seccomp picks and applies the container's seccomp profile.
func (b *builder) seccomp() error {
	if b.privileged() {
		return nil
	}
	kind, ref, field, err := seccompRequest(b.sc)
	if err != nil {
		return err
	}
	if kind == "" {
		kind = seccompUnconfined
		if b.in.Runtime.SeccompUseDefaultWhenEmpty {
			kind = seccompRuntimeDefault
		}
	}
	var prof *SeccompProfile
	switch kind {
	case seccompUnconfined:
		return nil
	case seccompRuntimeDefault:
		prof = DefaultSeccompProfile()
		if p := b.in.Runtime.SeccompProfilePath; p != "" {
			if prof, err = b.loadProfile(p, "seccomp_profile"); err != nil {
				return err
			}
		}
	default:
		if prof, err = b.loadProfile(ref, field); err != nil {
			return err
		}
	}
	out, err := prof.Resolve(b.caps, runtime.GOARCH)
	if err != nil {
		return &InvalidError{Field: field, Msg: "bad seccomp profile", Err: err}
	}
	b.g.Config.Linux = ensureLinux(b.g.Config.Linux)
	b.g.Config.Linux.Seccomp = out
	return nil
}

// seccompRequest normalises the SecurityProfile and the deprecated
// seccomp_profile_path into (kind, localhost path, field).
func seccompRequest(sc *runtimeapi.LinuxContainerSecurityContext) (string, string, string, error) {
	if p := sc.GetSeccomp(); p != nil {
		field := scField + "seccomp"
		switch p.GetProfileType() {
		case runtimeapi.SecurityProfile_RuntimeDefault:
			return seccompRuntimeDefault, "", field, nil
		case runtimeapi.SecurityProfile_Unconfined:
			return seccompUnconfined, "", field, nil
		case runtimeapi.SecurityProfile_Localhost:
			ref := strings.TrimPrefix(p.GetLocalhostRef(), seccompLocalhost)
			return seccompLocalhost, ref, field + ".localhost_ref", nil
		}
		return "", "", "", invalid(field, "unknown profile type %v", p.GetProfileType())
	}
	field := scField + "seccomp_profile_path"
	switch p := sc.GetSeccompProfilePath(); {
	case p == "":
		return "", "", field, nil
	case p == seccompRuntimeDefault || p == seccompDockerDefault:
		return seccompRuntimeDefault, "", field, nil
	case p == seccompUnconfined:
		return seccompUnconfined, "", field, nil
	case strings.HasPrefix(p, seccompLocalhost):
		return seccompLocalhost, strings.TrimPrefix(p, seccompLocalhost), field, nil
	default:
		return "", "", "", invalid(field, "%q is not runtime/default, unconfined or localhost/<path>", p)
	}
}

func (b *builder) loadProfile(path, field string) (*SeccompProfile, error) {
	if !filepath.IsAbs(path) {
		return nil, invalid(field, "seccomp profile path %q is not absolute", path)
	}
	data, err := b.in.Host.ReadFile(path)
	if err != nil {
		return nil, &InvalidError{Field: field, Msg: fmt.Sprintf("cannot read seccomp profile %s", path), Err: err}
	}
	var p SeccompProfile
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, &InvalidError{Field: field, Msg: fmt.Sprintf("seccomp profile %s is not valid JSON", path), Err: err}
	}
	if p.DefaultAction == "" {
		return nil, invalid(field, "seccomp profile %s has no defaultAction", path)
	}
	return &p, nil
}

var goarchToSeccomp = map[string]specs.Arch{
	"amd64": specs.ArchX86_64, "386": specs.ArchX86, "arm64": specs.ArchAARCH64,
	"arm": specs.ArchARM, "ppc64le": specs.ArchPPC64LE, "s390x": specs.ArchS390X,
	"riscv64": specs.ArchRISCV64, "mips64le": specs.ArchMIPSEL64, "loong64": specs.ArchLOONGARCH64,
}

var validActions = map[specs.LinuxSeccompAction]bool{
	specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true,
	specs.ActTrap: true, specs.ActErrno: true, specs.ActTrace: true,
	specs.ActAllow: true, specs.ActLog: true, specs.ActNotify: true,
}

var validOps = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true, specs.OpEqualTo: true,
	specs.OpGreaterEqual: true, specs.OpGreaterThan: true, specs.OpMaskedEqual: true,
}

// Resolve selects the rules that apply to a container holding caps on
// goarch and returns the OCI form, validated with libseccomp.
func (p *SeccompProfile) Resolve(caps []string, goarch string) (*specs.LinuxSeccomp, error) {
	native, ok := goarchToSeccomp[goarch]
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q", goarch)
	}
	out := &specs.LinuxSeccomp{
		DefaultAction:   p.DefaultAction,
		DefaultErrnoRet: p.DefaultErrnoRet,
		Flags:           p.Flags,
		ListenerPath:    p.ListenerPath,
	}
	out.Architectures = append(out.Architectures, p.Architectures...)
	for _, m := range p.ArchMap {
		if m.Arch == native {
			out.Architectures = append(append(out.Architectures, m.Arch), m.SubArch...)
		}
	}
	have := map[string]bool{}
	for _, c := range caps {
		have[c] = true
	}
	nativeName := archName(native)
	for _, r := range p.Syscalls {
		if !r.selected(have, nativeName) {
			continue
		}
		names := r.Names
		if r.Name != "" {
			names = append([]string{r.Name}, names...)
		}
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{
			Names: names, Action: r.Action, ErrnoRet: r.ErrnoRet, Args: r.Args,
		})
	}
	if err := ValidateSeccomp(out); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *SeccompRule) selected(caps map[string]bool, arch string) bool {
	for _, c := range r.Includes.Caps {
		if n, _ := procattr.NormalizeCapability(c); !caps[n] {
			return false
		}
	}
	if len(r.Includes.Arches) > 0 && !contains(r.Includes.Arches, arch) {
		return false
	}
	for _, c := range r.Excludes.Caps {
		if n, _ := procattr.NormalizeCapability(c); caps[n] {
			return false
		}
	}
	return !contains(r.Excludes.Arches, arch)
}

// archName turns SCMP_ARCH_X86_64 into libseccomp's "x86_64".
func archName(a specs.Arch) string {
	return strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_"))
}

// ValidateSeccomp checks actions, operators, arches and syscall names
// against libseccomp; every problem found is reported at once.
func ValidateSeccomp(s *specs.LinuxSeccomp) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !validActions[s.DefaultAction] {
		bad("unknown default action %q", s.DefaultAction)
	}
	for _, a := range s.Architectures {
		if _, err := libseccomp.GetArchFromString(archName(a)); err != nil {
			bad("unknown architecture %q", a)
		}
	}
	var unknown []string
	for i, sc := range s.Syscalls {
		if !validActions[sc.Action] {
			bad("syscalls[%d]: unknown action %q", i, sc.Action)
		}
		if len(sc.Names) == 0 {
			bad("syscalls[%d]: no syscall names", i)
		}
		for _, n := range sc.Names {
			if _, err := libseccomp.GetSyscallFromName(n); err != nil {
				unknown = append(unknown, n)
			}
		}
		for _, a := range sc.Args {
			if a.Index > 5 || !validOps[a.Op] {
				bad("syscalls[%d]: bad argument rule (index %d, op %q)", i, a.Index, a.Op)
			}
		}
	}
	if len(unknown) > 0 {
		bad("unknown syscalls %s", strings.Join(unknown, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func ensureLinux(l *specs.Linux) *specs.Linux {
	if l == nil {
		return &specs.Linux{}
	}
	return l
}
