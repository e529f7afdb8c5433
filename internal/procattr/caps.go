package procattr

import (
	"strings"

	"github.com/moby/sys/capability"
)

// DefaultCapabilities is the least-privilege set every container starts
// from, in CRI-O's configuration form (no CAP_ prefix).
var DefaultCapabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "KILL",
}

// KnownCapabilities lists every capability moby/sys/capability knows, as
// "CAP_NAME", in kernel order.
var KnownCapabilities = func() []string {
	known := capability.ListKnown()
	out := make([]string, len(known))
	for i, c := range known {
		out[i] = "CAP_" + strings.ToUpper(c.String())
	}
	return out
}()

var capIndex = func() map[string]int {
	m := make(map[string]int, len(KnownCapabilities))
	for i, c := range KnownCapabilities {
		m[c] = i
	}
	return m
}()

// NormalizeCapability turns "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN"
// into "CAP_NET_ADMIN"; ok is false for unknown names.
func NormalizeCapability(name string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	_, ok := capIndex[c]
	return c, ok
}

// CapabilityIndex is c's kernel number (c in the CAP_ form); unknown names
// sort last.
func CapabilityIndex(c string) int {
	if i, ok := capIndex[c]; ok {
		return i
	}
	return len(capIndex)
}
