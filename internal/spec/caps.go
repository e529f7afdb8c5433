package spec

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultCapabilities is the least-privilege default set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_KILL",
}

// KnownCapabilities lists every Linux capability in kernel order.
var KnownCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

var capIndex = func() map[string]int {
	m := map[string]int{}
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

// capSet is an ordered set of capability names.
type capSet struct {
	list []string
	has  map[string]bool
}

func newCapSet() *capSet { return &capSet{has: map[string]bool{}} }

func (s *capSet) add(c string) {
	if !s.has[c] {
		s.has[c] = true
		s.list = append(s.list, c)
	}
}

func (s *capSet) remove(c string) {
	if !s.has[c] {
		return
	}
	delete(s.has, c)
	for i, x := range s.list {
		if x == c {
			s.list = append(s.list[:i:i], s.list[i+1:]...)
			return
		}
	}
}

// grantable is the set the runtime can hand out.
func (b *builder) grantable() (*capSet, error) {
	s := newCapSet()
	if b.in.Runtime.HostCapabilities == nil {
		for _, c := range KnownCapabilities {
			s.add(c)
		}
		return s, nil
	}
	for i, name := range b.in.Runtime.HostCapabilities {
		c, ok := NormalizeCapability(name)
		if !ok {
			return nil, invalid(fmt.Sprintf("host capabilities[%d]", i), "unknown capability %q", name)
		}
		s.add(c)
	}
	return s, nil
}

// capabilities applies default_capabilities, add/drop with ALL and the
// privileged rule; inheritable stays empty and ambient only for non-root.
func (b *builder) capabilities() error {
	host, err := b.grantable()
	if err != nil {
		return err
	}
	set := newCapSet()
	if b.privileged() {
		set = host
	} else if set, err = b.unprivilegedCaps(host); err != nil {
		return err
	}
	ambient, err := b.ambientCaps(set, host)
	if err != nil {
		return err
	}
	for _, c := range ambient {
		set.add(c)
	}
	b.caps = canonicalCaps(set.list)
	b.g.Config.Process.Capabilities = newLinuxCaps(b.caps, canonicalCaps(ambient))
	return nil
}

// canonicalCaps sorts capabilities in kernel order, for stable specs.
func canonicalCaps(caps []string) []string {
	out := append([]string{}, caps...)
	sort.Slice(out, func(i, j int) bool { return capIndex[out[i]] < capIndex[out[j]] })
	return out
}

// newLinuxCaps builds the five sets; inheritable carries only the ambient
// capabilities because the kernel requires ambient to be inheritable.
func newLinuxCaps(caps, ambient []string) *specs.LinuxCapabilities {
	cp := func(s []string) []string { return append([]string{}, s...) }
	return &specs.LinuxCapabilities{
		Bounding: cp(caps), Effective: cp(caps), Permitted: cp(caps),
		Inheritable: cp(ambient), Ambient: cp(ambient),
	}
}

func (b *builder) unprivilegedCaps(host *capSet) (*capSet, error) {
	set := newCapSet()
	defaults := b.in.Runtime.DefaultCapabilities
	if defaults == nil {
		defaults = DefaultCapabilities
	}
	for i, name := range defaults {
		c, ok := NormalizeCapability(name)
		if !ok {
			return nil, invalid(fmt.Sprintf("default_capabilities[%d]", i), "unknown capability %q", name)
		}
		set.add(c)
	}
	capCfg := b.sc.GetCapabilities()
	add, err := parseCapList(capCfg.GetAddCapabilities(), scField+"capabilities.add_capabilities")
	if err != nil {
		return nil, err
	}
	drop, err := parseCapList(capCfg.GetDropCapabilities(), scField+"capabilities.drop_capabilities")
	if err != nil {
		return nil, err
	}
	// ALL first, so that individual names refine it (kubelet sends
	// drop ALL + add NET_BIND_SERVICE for "only this capability").
	if add.all {
		for _, c := range host.list {
			set.add(c)
		}
	}
	if drop.all {
		set = newCapSet()
	}
	for _, c := range add.names {
		set.add(c)
	}
	for _, c := range drop.names {
		set.remove(c)
	}
	for _, c := range set.list {
		if !host.has[c] {
			return nil, precondition(scField+"capabilities", "capability %s cannot be granted: the runtime does not hold it", c)
		}
	}
	return set, nil
}

// ambientCaps returns the requested ambient capabilities; they only mean
// something for a non-root process, so root gets none.
func (b *builder) ambientCaps(set, host *capSet) ([]string, error) {
	req, err := parseCapList(b.sc.GetCapabilities().GetAddAmbientCapabilities(), scField+"capabilities.add_ambient_capabilities")
	if err != nil {
		return nil, err
	}
	if req.all {
		return nil, invalid(scField+"capabilities.add_ambient_capabilities", "ALL is not allowed for ambient capabilities")
	}
	if b.user.uid == 0 || len(req.names) == 0 {
		return nil, nil
	}
	for _, c := range req.names {
		if !host.has[c] {
			return nil, precondition(scField+"capabilities.add_ambient_capabilities", "capability %s cannot be granted: the runtime does not hold it", c)
		}
	}
	return req.names, nil
}

type capList struct {
	all   bool
	names []string
}

func parseCapList(names []string, field string) (capList, error) {
	var out capList
	for i, name := range names {
		if strings.EqualFold(strings.TrimSpace(name), "ALL") {
			out.all = true
			continue
		}
		c, ok := NormalizeCapability(name)
		if !ok {
			return out, invalid(fmt.Sprintf("%s[%d]", field, i), "unknown capability %q", name)
		}
		out.names = append(out.names, c)
	}
	return out, nil
}
