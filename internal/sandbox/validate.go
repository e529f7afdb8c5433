package sandbox

import (
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/network"
)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// hostnameRE is an RFC 1123 name, what Kubernetes allows for pod hostnames.
var hostnameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

var sysctlRE = regexp.MustCompile(`^[a-z0-9_-]+([./][a-z0-9_-]+)*$`)

// ValidateConfig checks a RunPodSandbox config and names the bad field.
func ValidateConfig(cfg *runtimeapi.PodSandboxConfig) error {
	if cfg == nil {
		return invalid("config is required")
	}
	md := cfg.GetMetadata()
	if md == nil {
		return invalid("config.metadata is required")
	}
	for field, v := range map[string]string{"name": md.Name, "namespace": md.Namespace, "uid": md.Uid} {
		if v == "" {
			return invalid("config.metadata.%s is required", field)
		}
		if strings.ContainsAny(v, "/\x00") {
			return invalid("config.metadata.%s %q must not contain / or NUL", field, v)
		}
	}
	if h := cfg.Hostname; h != "" && (len(h) > 63 || !hostnameRE.MatchString(h)) {
		return invalid("config.hostname %q is not a valid RFC 1123 hostname", h)
	}
	if cfg.LogDirectory != "" && !strings.HasPrefix(cfg.LogDirectory, "/") {
		return invalid("config.log_directory %q must be an absolute path", cfg.LogDirectory)
	}
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if nso.GetUsernsOptions() != nil && nso.GetUsernsOptions().GetMode() == runtimeapi.NamespaceMode_POD {
		return status.Error(codes.Unimplemented, "user namespaces (hostUsers: false) are not supported yet")
	}
	for _, m := range []struct {
		name string
		mode runtimeapi.NamespaceMode
	}{{"network", nso.GetNetwork()}, {"ipc", nso.GetIpc()}} {
		if m.mode == runtimeapi.NamespaceMode_CONTAINER || m.mode == runtimeapi.NamespaceMode_TARGET {
			return invalid("config.linux.security_context.namespace_options.%s: mode %s is not valid for a pod (POD or NODE)", m.name, m.mode)
		}
	}
	if nso.GetPid() == runtimeapi.NamespaceMode_TARGET {
		return invalid("config.linux.security_context.namespace_options.pid: TARGET is only valid for containers")
	}
	for _, a := range []string{network.IngressBandwidthAnnotation, network.EgressBandwidthAnnotation} {
		if v, ok := cfg.Annotations[a]; ok {
			if _, err := network.ParseBandwidth(v); err != nil {
				return invalid("config.annotations[%s]: %v", a, err)
			}
		}
	}
	_, err := SortSysctls(cfg.GetLinux().GetSysctls(), nso)
	return err
}

// SortSysctls checks each sysctl is namespaced and the pod has its own
// namespace of that kind; it returns them in kernel (dotted) form.
func SortSysctls(sysctls map[string]string, nso *runtimeapi.NamespaceOption) (map[string]string, error) {
	out := map[string]string{}
	for name, val := range sysctls {
		if !sysctlRE.MatchString(name) || strings.Contains(name, "..") {
			return nil, invalid("config.linux.sysctls: invalid sysctl name %q", name)
		}
		dotted := strings.ReplaceAll(name, "/", ".")
		switch {
		case strings.HasPrefix(dotted, "net."):
			if nso.GetNetwork() == runtimeapi.NamespaceMode_NODE {
				return nil, invalid("config.linux.sysctls: %s needs the pod's own network namespace (hostNetwork is set)", name)
			}
		case dotted == "kernel.sem" || strings.HasPrefix(dotted, "kernel.shm") || strings.HasPrefix(dotted, "kernel.msg") || strings.HasPrefix(dotted, "fs.mqueue."):
			if nso.GetIpc() == runtimeapi.NamespaceMode_NODE {
				return nil, invalid("config.linux.sysctls: %s needs the pod's own IPC namespace (hostIPC is set)", name)
			}
		default:
			return nil, invalid("config.linux.sysctls: %s is not a namespaced sysctl", name)
		}
		if strings.ContainsAny(val, "\n\x00") {
			return nil, invalid("config.linux.sysctls: value of %s must be one line", name)
		}
		out[dotted] = val
	}
	return out, nil
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
	return fmt.Sprint(strings.Trim(name, "-."))
}
