package sandbox

import (
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/spec"
)

// SysctlDotted returns name in dotted form (see spec.SysctlDotted).
func SysctlDotted(name string) string { return spec.SysctlDotted(name) }

// SysctlPath is the file under /proc/sys of a dotted sysctl name.
func SysctlPath(dotted string) string {
	parts := strings.Split(dotted, ".")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "/", ".")
	}
	return "/proc/sys/" + strings.Join(parts, "/")
}

// validSysctlName accepts what the kernel can name (any component without
// whitespace or control characters: interface names may have upper case,
// '@', '-', ...), and refuses components that would climb out of /proc/sys.
func validSysctlName(dotted string) bool {
	if dotted == "" || len(dotted) > maxPathLen {
		return false
	}
	for _, p := range strings.Split(dotted, ".") {
		elem := strings.ReplaceAll(p, "/", ".")
		if p == "" || elem == "." || elem == ".." || strings.ContainsAny(p, " \\") || ControlChar(p) >= 0 {
			return false
		}
	}
	return true
}

// SortSysctls checks each sysctl is namespaced and the pod has its own
// namespace of that kind; it returns them in dotted form.
func SortSysctls(sysctls map[string]string, nso *runtimeapi.NamespaceOption) (map[string]string, error) {
	out := map[string]string{}
	for name, val := range sysctls {
		dotted := SysctlDotted(name)
		if !validSysctlName(dotted) {
			return nil, invalid("config.linux.sysctls: invalid sysctl name %s", short(name))
		}
		switch {
		case strings.HasPrefix(dotted, "net."):
			if nso.GetNetwork() == runtimeapi.NamespaceMode_NODE {
				return nil, invalid("config.linux.sysctls: %s needs the pod's own network namespace (hostNetwork is set)", name)
			}
		case dotted == "kernel.hostname" || dotted == "kernel.domainname":
			// The pod's UTS namespace comes with its network namespace.
			if nso.GetNetwork() == runtimeapi.NamespaceMode_NODE {
				return nil, invalid("config.linux.sysctls: %s needs the pod's own UTS namespace (hostNetwork is set)", name)
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
