package spec

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/procattr"
)

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
		for _, c := range procattr.KnownCapabilities {
			s.add(c)
		}
		return s, nil
	}
	for i, name := range b.in.Runtime.HostCapabilities {
		c, ok := procattr.NormalizeCapability(name)
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
	sort.Slice(out, func(i, j int) bool { return procattr.CapabilityIndex(out[i]) < procattr.CapabilityIndex(out[j]) })
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
		defaults = procattr.DefaultCapabilities
	}
	for i, name := range defaults {
		c, ok := procattr.NormalizeCapability(name)
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
		c, ok := procattr.NormalizeCapability(name)
		if !ok {
			return out, invalid(fmt.Sprintf("%s[%d]", field, i), "unknown capability %q", name)
		}
		out.names = append(out.names, c)
	}
	return out, nil
}
