package server

import (
	"fmt"
	"net/netip"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/network"
	"github.com/crio-runtime/crio/internal/sandbox"
	ocispec "github.com/crio-runtime/crio/internal/spec"
)

// Limits on what a request may carry. Kubernetes names are at most 253
// bytes; hostnames follow the kernel (__NEW_UTS_LEN); paths PATH_MAX
// (sandbox.MaxPathLen) and NAME_MAX per component.
const (
	maxNameLen     = 253
	maxHostnameLen = 64
	maxPathElemLen = 255
)

func invalid(format string, args ...any) error {
	return errdefs.Invalid("", format, args...)
}

// validateRunPodSandbox checks the config and, as CreateContainer checks
// container resources, the pod's resources and overhead.
func validateRunPodSandbox(r *runtimeapi.RunPodSandboxRequest) error {
	lx := r.GetConfig().GetLinux()
	if err := ocispec.ValidateResources(lx.GetResources(), "config.linux.resources."); err != nil {
		return err
	}
	if err := ocispec.ValidateResources(lx.GetOverhead(), "config.linux.overhead."); err != nil {
		return err
	}
	return validatePodConfig(r.GetConfig())
}

func validateUpdatePodSandboxResources(r *runtimeapi.UpdatePodSandboxResourcesRequest) error {
	if err := ocispec.ValidateResources(r.Resources, "resources."); err != nil {
		return err
	}
	return ocispec.ValidateResources(r.Overhead, "overhead.")
}

func validatePortForward(r *runtimeapi.PortForwardRequest) error {
	for _, p := range r.Port {
		if p <= 0 || p > 65535 {
			return invalid("port %d is out of range 1-65535", p)
		}
	}
	return nil
}

// validateName checks a pod or container metadata name: required, at
// most maxNameLen bytes, no '/' (it names directories) and no control
// characters.
func validateName(field, v string) error {
	switch {
	case v == "":
		return invalid("%s is required", field)
	case len(v) > maxNameLen:
		return invalid("%s is %d bytes, more than %d", field, len(v), maxNameLen)
	case strings.Contains(v, "/") || sandbox.ControlChar(v) >= 0:
		return invalid("%s %s must not contain '/' or control characters", field, sandbox.Short(v))
	}
	return nil
}

// validateHostname applies the kernel's rule (1..64 bytes, no NUL, and no
// '/' as CRI-O adds) and refuses control characters, which would inject
// lines into the pod's hosts file.
func validateHostname(h string) error {
	if len(h) > maxHostnameLen || strings.Contains(h, "/") || sandbox.ControlChar(h) >= 0 {
		return invalid("config.hostname %s: a hostname is 1 to %d bytes without '/' or control characters", sandbox.Short(h), maxHostnameLen)
	}
	return nil
}

// validatePodConfig checks a RunPodSandbox config and names the bad field.
func validatePodConfig(cfg *runtimeapi.PodSandboxConfig) error {
	if cfg == nil {
		return invalid("config is required")
	}
	md := cfg.GetMetadata()
	if md == nil {
		return invalid("config.metadata is required")
	}
	for _, f := range []struct{ name, v string }{{"name", md.Name}, {"namespace", md.Namespace}, {"uid", md.Uid}} {
		if err := validateName("config.metadata."+f.name, f.v); err != nil {
			return err
		}
		// These reach the plugins' CNI_ARGS, whose separator ';' is.
		if strings.Contains(f.v, ";") {
			return invalid("config.metadata.%s %s must not contain ';'", f.name, sandbox.Short(f.v))
		}
	}
	if h := cfg.Hostname; h != "" {
		if err := validateHostname(h); err != nil {
			return err
		}
	}
	if d := cfg.LogDirectory; d != "" {
		if err := validatePath("config.log_directory", d); err != nil {
			return err
		}
		if !strings.HasPrefix(d, "/") {
			return invalid("config.log_directory %s must be an absolute path", sandbox.Short(d))
		}
	}
	if err := validateDNS(cfg.GetDnsConfig()); err != nil {
		return err
	}
	if err := validatePorts(cfg.GetPortMappings()); err != nil {
		return err
	}
	if p := cfg.GetLinux().GetCgroupParent(); p != "" {
		if err := validatePath("config.linux.cgroup_parent", p); err != nil {
			return err
		}
	}
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if err := validatePodNamespaceModes(nso); err != nil {
		return err
	}
	for _, a := range []string{network.IngressBandwidthAnnotation, network.EgressBandwidthAnnotation} {
		if v, ok := cfg.Annotations[a]; ok {
			if _, err := network.ParseBandwidth(v); err != nil {
				return invalid("config.annotations[%s]: %v", a, err)
			}
		}
	}
	_, _, err := sandbox.SortSysctls(cfg.GetLinux().GetSysctls(), nso)
	return err
}

// validatePath checks a path from a request: no NUL or other control
// character, at most PATH_MAX bytes and NAME_MAX per component, and no
// ".." component, so it cannot climb out of where it is joined.
func validatePath(field, p string) error {
	if i := sandbox.ControlChar(p); i >= 0 {
		return invalid("%s %s contains a control character at byte %d", field, sandbox.Short(p), i)
	}
	if len(p) > sandbox.MaxPathLen {
		return invalid("%s is %d bytes, more than %d", field, len(p), sandbox.MaxPathLen)
	}
	for _, e := range strings.Split(p, "/") {
		if len(e) > maxPathElemLen {
			return invalid("%s has a component of %d bytes, more than %d", field, len(e), maxPathElemLen)
		}
		if e == ".." {
			return invalid("%s %s must not contain a .. component", field, sandbox.Short(p))
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
			if sandbox.ControlChar(v) >= 0 || len(v) > sandbox.MaxPathLen {
				return invalid("config.dns_config.%s[%d] %s must be one line without control characters", l.name, i, sandbox.Short(v))
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
				return invalid("%s.host_ip %s is not an IP address", f, sandbox.Short(ip))
			}
		}
	}
	return nil
}

// validNamespaceMode says whether m is one of the modes api.proto defines.
func validNamespaceMode(m runtimeapi.NamespaceMode) bool {
	_, ok := runtimeapi.NamespaceMode_name[int32(m)]
	return ok
}

// checkNamespaceModes refuses modes api.proto does not define; prefix is
// the field path of the NamespaceOption.
func checkNamespaceModes(prefix string, nso *runtimeapi.NamespaceOption) error {
	for _, m := range []struct {
		name string
		mode runtimeapi.NamespaceMode
	}{{"network", nso.GetNetwork()}, {"pid", nso.GetPid()}, {"ipc", nso.GetIpc()}, {"userns_options.mode", nso.GetUsernsOptions().GetMode()}} {
		if !validNamespaceMode(m.mode) {
			return invalid("%s.%s: unknown namespace mode %d", prefix, m.name, m.mode)
		}
	}
	return nil
}

func validatePodNamespaceModes(nso *runtimeapi.NamespaceOption) error {
	const prefix = "config.linux.security_context.namespace_options"
	if err := checkNamespaceModes(prefix, nso); err != nil {
		return err
	}
	if nso.GetUsernsOptions() != nil && nso.GetUsernsOptions().GetMode() == runtimeapi.NamespaceMode_POD {
		return errdefs.Unimplemented("user namespaces (hostUsers: false) are not supported yet")
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
