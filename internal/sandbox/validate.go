package sandbox

import (
	"fmt"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// The checks of a RunPodSandbox request's fields live in server
// (validate_request_pod.go); what stays here needs the host or the pod.

// MaxPathLen is PATH_MAX: the longest path (or sysctl name) a request
// may carry.
const MaxPathLen = 4096

func invalid(format string, args ...any) error {
	return errdefs.Invalid("", format, args...)
}

// ControlChar returns the index of the first ASCII control character
// (NUL, newline, tab, ... DEL) in s, or -1. Such characters in a value
// written to a line-based file (resolv.conf, hosts) inject lines.
func ControlChar(s string) int {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// Short quotes v for an error message without echoing a megabyte back.
func Short(v string) string {
	if len(v) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", v[:64], len(v))
	}
	return fmt.Sprintf("%q", v)
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
