package sandbox

import (
	"sort"
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
	if dotted == "" || len(dotted) > MaxPathLen {
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

// SortSysctls checks each sysctl is namespaced; it returns them in dotted
// form, minus those of a namespace the pod shares with the host, which it
// names in skipped: CRI-O skips those with a warning rather than failing
// the pod (a hostNetwork pod keeps the node's net.* values).
func SortSysctls(sysctls map[string]string, nso *runtimeapi.NamespaceOption) (_ map[string]string, skipped []string, _ error) {
	out := map[string]string{}
	for name, val := range sysctls {
		dotted := SysctlDotted(name)
		if !validSysctlName(dotted) {
			return nil, nil, invalid("config.linux.sysctls: invalid sysctl name %s", Short(name))
		}
		if strings.ContainsAny(val, "\n\x00") {
			return nil, nil, invalid("config.linux.sysctls: value of %s must be one line", name)
		}
		host, ok := sysctlOnHost(dotted, nso)
		if !ok {
			return nil, nil, invalid("config.linux.sysctls: %s is not a namespaced sysctl", name)
		}
		if host {
			skipped = append(skipped, name)
			continue
		}
		out[dotted] = val
	}
	sort.Strings(skipped)
	return out, skipped, nil
}

// sysctlOnHost reports whether a namespaced sysctl belongs to a namespace
// the pod shares with the node; ok is false for a sysctl of no namespace
// a pod can own.
func sysctlOnHost(dotted string, nso *runtimeapi.NamespaceOption) (host, ok bool) {
	hostNet := nso.GetNetwork() == runtimeapi.NamespaceMode_NODE
	switch {
	case strings.HasPrefix(dotted, "net."):
		return hostNet, true
	case dotted == "kernel.hostname" || dotted == "kernel.domainname":
		// The pod's UTS namespace comes with its network namespace.
		return hostNet, true
	case dotted == "kernel.sem" || strings.HasPrefix(dotted, "kernel.shm") || strings.HasPrefix(dotted, "kernel.msg") || strings.HasPrefix(dotted, "fs.mqueue."):
		return nso.GetIpc() == runtimeapi.NamespaceMode_NODE, true
	}
	return false, false
}
