package config

import (
	"path/filepath"
	"reflect"
	"slices"
	"sort"
)

// Unimplemented names the settings of c that this runtime accepts for CRI-O
// compatibility but does not act on: every notimpl key whose value differs from
// its value in def (handler keys compared with the same handler in def, or a
// fresh handler) and apparmor_profile on a host without AppArmor.
// Keys are dotted TOML paths, sorted in file order.
func (c *Config) Unimplemented(def *Config, h Host) []string {
	var out []string
	for _, o := range Options() {
		notImpl := o.NotImpl || (o.Path() == "crio.runtime.apparmor_profile" && !h.AppArmor)
		if notImpl && !sameValue(o.Value(c), o.Value(def)) {
			out = append(out, o.Path())
		}
	}
	for _, name := range c.HandlerNames() {
		base, ok := def.Crio.Runtime.Runtimes[name]
		if !ok {
			base = NewHandler()
		}
		hv, bv := reflect.ValueOf(c.Crio.Runtime.Runtimes[name]).Elem(), reflect.ValueOf(base).Elem()
		for _, o := range HandlerOptions() {
			if o.NotImpl && !sameValue(fieldByKey(hv, o.Key), fieldByKey(bv, o.Key)) {
				out = append(out, "crio.runtime.runtimes."+name+"."+o.Key)
			}
		}
	}
	return out
}

func sameValue(a, b reflect.Value) bool {
	return reflect.DeepEqual(normalize(a.Interface()), normalize(b.Interface()))
}

// conmonNames are the base names of CRI-O's C monitor.
var conmonNames = []string{"conmon", "conmon-rs", "conmonrs"}

// IsCConmon reports whether path names CRI-O's C conmon (or conmon-rs) rather
// than this runtime's conmon-go; such paths are replaced by conmon-go.
func IsCConmon(path string) bool {
	return path != "" && slices.Contains(conmonNames, filepath.Base(path))
}

// ConmonReplacements lists "key=path" for every conmon / monitor_path that
// points at CRI-O's C monitor, for the start-up log line.
func (c *Config) ConmonReplacements() []string {
	var out []string
	if IsCConmon(c.Crio.Runtime.Conmon) {
		out = append(out, "crio.runtime.conmon="+c.Crio.Runtime.Conmon)
	}
	for _, name := range c.HandlerNames() {
		if p := c.Crio.Runtime.Runtimes[name].MonitorPath; IsCConmon(p) {
			out = append(out, "crio.runtime.runtimes."+name+".monitor_path="+p)
		}
	}
	return out
}

// WorkloadNames lists the configured workloads, sorted.
func (c *Config) WorkloadNames() []string {
	return sortedKeys(c.Crio.Runtime.Workloads)
}

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
