package sandbox

import (
	"fmt"
	"net/netip"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/network"
)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// Limits on what a request may carry. Kubernetes names are at most 253
// bytes; hostnames follow the kernel (__NEW_UTS_LEN); paths PATH_MAX and
// NAME_MAX per component.
const (
	MaxNameLen     = 253
	MaxHostnameLen = 64
	maxPathLen     = 4096
	maxPathElemLen = 255
)

// ControlChar returns the index of the first ASCII control character
// (NUL, newline, tab, ... DEL) in s, or -1. Such characters in a value
// written to a line-based file (resolv.conf, hosts) inject lines.
func ControlChar(s string) int {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// short quotes v for an error message without echoing a megabyte back.
func short(v string) string {
	if len(v) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", v[:64], len(v))
	}
	return fmt.Sprintf("%q", v)
}

// ValidateName checks a pod or container metadata name: required, at
// most MaxNameLen bytes, no '/' (it names directories) and no control
// characters.
func ValidateName(field, v string) error {
	switch {
	case v == "":
		return invalid("%s is required", field)
	case len(v) > MaxNameLen:
		return invalid("%s is %d bytes, more than %d", field, len(v), MaxNameLen)
	case strings.Contains(v, "/") || ControlChar(v) >= 0:
		return invalid("%s %s must not contain '/' or control characters", field, short(v))
	}
	return nil
}

// ValidateHostname applies the kernel's rule (1..64 bytes, no NUL, and no
// '/' as CRI-O adds) and refuses control characters, which would inject
// lines into the pod's hosts file.
func ValidateHostname(h string) error {
	if len(h) > MaxHostnameLen || strings.Contains(h, "/") || ControlChar(h) >= 0 {
		return invalid("config.hostname %s: a hostname is 1 to %d bytes without '/' or control characters", short(h), MaxHostnameLen)
	}
	return nil
}

// ValidateConfig checks a RunPodSandbox config and names the bad field.
func ValidateConfig(cfg *runtimeapi.PodSandboxConfig) error {
	if cfg == nil {
		return invalid("config is required")
	}
	md := cfg.GetMetadata()
	if md == nil {
		return invalid("config.metadata is required")
	}
	for _, f := range []struct{ name, v string }{{"name", md.Name}, {"namespace", md.Namespace}, {"uid", md.Uid}} {
		if err := ValidateName("config.metadata."+f.name, f.v); err != nil {
			return err
		}
		// These reach the plugins' CNI_ARGS, whose separator ';' is.
		if strings.Contains(f.v, ";") {
			return invalid("config.metadata.%s %s must not contain ';'", f.name, short(f.v))
		}
	}
	if h := cfg.Hostname; h != "" {
		if err := ValidateHostname(h); err != nil {
			return err
		}
	}
	if d := cfg.LogDirectory; d != "" {
		if err := ValidatePath("config.log_directory", d); err != nil {
			return err
		}
		if !strings.HasPrefix(d, "/") {
			return invalid("config.log_directory %s must be an absolute path", short(d))
		}
	}
	if err := validateDNS(cfg.GetDnsConfig()); err != nil {
		return err
	}
	if err := validatePorts(cfg.GetPortMappings()); err != nil {
		return err
	}
	if p := cfg.GetLinux().GetCgroupParent(); p != "" {
		if err := ValidatePath("config.linux.cgroup_parent", p); err != nil {
			return err
		}
	}
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if err := validateNamespaceModes(nso); err != nil {
		return err
	}
	for _, a := range []string{network.IngressBandwidthAnnotation, network.EgressBandwidthAnnotation} {
		if v, ok := cfg.Annotations[a]; ok {
			if _, err := network.ParseBandwidth(v); err != nil {
				return invalid("config.annotations[%s]: %v", a, err)
			}
		}
	}
	_, _, err := SortSysctls(cfg.GetLinux().GetSysctls(), nso)
	return err
}

// ValidatePath checks a path from a request: no NUL or other control
// character, at most PATH_MAX bytes and NAME_MAX per component, and no
// ".." component, so it cannot climb out of where it is joined.
func ValidatePath(field, p string) error {
	if i := ControlChar(p); i >= 0 {
		return invalid("%s %s contains a control character at byte %d", field, short(p), i)
	}
	if len(p) > maxPathLen {
		return invalid("%s is %d bytes, more than %d", field, len(p), maxPathLen)
	}
	for _, e := range strings.Split(p, "/") {
		if len(e) > maxPathElemLen {
			return invalid("%s has a component of %d bytes, more than %d", field, len(e), maxPathElemLen)
		}
		if e == ".." {
			return invalid("%s %s must not contain a .. component", field, short(p))
		}
	}
	return nil
}

// validateDNS refuses control characters: each value becomes part of a
// line of the pod's resolv.conf.
func validateDNS(dns *runtimeapi.DNSConfig) error {
	for _, l := range []struct {
		name string
		vs   []string
	}{{"servers", dns.GetServers()}, {"searches", dns.GetSearches()}, {"options", dns.GetOptions()}} {
		for i, v := range l.vs {
			if ControlChar(v) >= 0 || len(v) > maxPathLen {
				return invalid("config.dns_config.%s[%d] %s must be one line without control characters", l.name, i, short(v))
			}
		}
	}
	return nil
}

func validatePorts(pms []*runtimeapi.PortMapping) error {
	for i, pm := range pms {
		f := fmt.Sprintf("config.port_mappings[%d]", i)
		if _, ok := runtimeapi.Protocol_name[int32(pm.GetProtocol())]; !ok {
			return invalid("%s.protocol %d is not TCP, UDP or SCTP", f, pm.GetProtocol())
		}
		if p := pm.GetContainerPort(); p < 0 || p > 65535 || (p == 0 && pm.GetHostPort() > 0) {
			return invalid("%s.container_port %d is not a port (1..65535)", f, p)
		}
		if p := pm.GetHostPort(); p < 0 || p > 65535 {
			return invalid("%s.host_port %d is not a port (0..65535)", f, p)
		}
		if ip := pm.GetHostIp(); ip != "" {
			if _, err := netip.ParseAddr(ip); err != nil {
				return invalid("%s.host_ip %s is not an IP address", f, short(ip))
			}
		}
	}
	return nil
}

// ValidNamespaceMode says whether m is one of the modes api.proto defines.
func ValidNamespaceMode(m runtimeapi.NamespaceMode) bool {
	_, ok := runtimeapi.NamespaceMode_name[int32(m)]
	return ok
}

// CheckNamespaceModes refuses modes api.proto does not define; prefix is
// the field path of the NamespaceOption.
func CheckNamespaceModes(prefix string, nso *runtimeapi.NamespaceOption) error {
	for _, m := range []struct {
		name string
		mode runtimeapi.NamespaceMode
	}{{"network", nso.GetNetwork()}, {"pid", nso.GetPid()}, {"ipc", nso.GetIpc()}, {"userns_options.mode", nso.GetUsernsOptions().GetMode()}} {
		if !ValidNamespaceMode(m.mode) {
			return invalid("%s.%s: unknown namespace mode %d", prefix, m.name, m.mode)
		}
	}
	return nil
}

func validateNamespaceModes(nso *runtimeapi.NamespaceOption) error {
	const prefix = "config.linux.security_context.namespace_options"
	if err := CheckNamespaceModes(prefix, nso); err != nil {
		return err
	}
	if _, err := ValidateUserns(nso); err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		mode runtimeapi.NamespaceMode
	}{{"network", nso.GetNetwork()}, {"ipc", nso.GetIpc()}} {
		if m.mode == runtimeapi.NamespaceMode_CONTAINER || m.mode == runtimeapi.NamespaceMode_TARGET {
			return invalid("%s.%s: mode %s is not valid for a pod (POD or NODE)", prefix, m.name, m.mode)
		}
	}
	if nso.GetPid() == runtimeapi.NamespaceMode_TARGET {
		return invalid("%s.pid: TARGET is only valid for containers", prefix)
	}
	return nil
}

// Hostname is the pod's hostname: config.hostname, else the node's for
// hostNetwork pods, else the pod name cut to 63 characters.
func Hostname(cfg *runtimeapi.PodSandboxConfig, nodeHostname string) string {
	if cfg.Hostname != "" {
		return cfg.Hostname
	}
	if cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE {
		return nodeHostname
	}
	name := strings.ToLower(cfg.GetMetadata().GetName())
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.Trim(name, "-.")
}
