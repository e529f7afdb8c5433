package config

import (
	"path/filepath"
	"strings"
	"testing"
)

const compatFixtures = "../../test/integration/testdata/compat"

func ignoredList(keys []IgnoredKey) string {
	var out []string
	for _, k := range keys {
		out = append(out, filepath.Base(k.File)+":"+k.Key)
	}
	return strings.Join(out, ",")
}

// TestCRIODefaultFileAndOldKeys: CRI-O 1.37's `crio config --default` file
// (with the keys its template misplaces into the crun table) and keys of
// older releases load; only the old keys are named, each with its file.
func TestCRIODefaultFileAndOldKeys(t *testing.T) {
	files := []string{filepath.Join(compatFixtures, "crio-1.37-config-default.conf"), filepath.Join(compatFixtures, "old-keys.conf")}
	c, ignored, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	want := "old-keys.conf:crio.file_locking,old-keys.conf:crio.file_locking_path,old-keys.conf:crio.api.host_ip," +
		"old-keys.conf:crio.runtime.manage_ns_lifecycle,old-keys.conf:crio.runtime.manage_network_ns_lifecycle," +
		"old-keys.conf:crio.runtime.default_workload_trust,old-keys.conf:crio.runtime.runtime_untrusted_workload," +
		"old-keys.conf:crio.image.registries"
	if got := ignoredList(ignored); got != want {
		t.Errorf("ignored:\n  %s\nwant\n  %s", got, want)
	}
	for _, k := range ignored {
		if k.File != files[1] || !strings.Contains(k.Why, "removed from CRI-O") {
			t.Errorf("%v: want file %s and a removed-key reason", k, files[1])
		}
	}
	if c.Crio.Runtime.DefaultRuntime != "crun" || !c.Crio.Runtime.HostNetworkDisableSELinux || c.Crio.Runtime.Timezone != "" {
		t.Errorf("runtime: default_runtime %q, hostnetwork_disable_selinux %v, timezone %q",
			c.Crio.Runtime.DefaultRuntime, c.Crio.Runtime.HostNetworkDisableSELinux, c.Crio.Runtime.Timezone)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// TestMisplacedKeysReadAsCRIO: inside a handler or workload table CRI-O drops
// the [crio.runtime] keys its template misplaces; the [crio.runtime] value
// stays, and a value that would be lost is named.
func TestMisplacedKeysReadAsCRIO(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "m.conf", "[crio.runtime]\ntimezone = \"UTC\"\n\n"+
		"[crio.runtime.runtimes.crun]\nruntime_path = \"/usr/bin/crun\"\n\n"+
		"timezone = \"UTC\"\ndisable_hostport_mapping = true\nhostnetwork_disable_selinux = true\n")
	c, ignored, err := Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if c.Crio.Runtime.Timezone != "UTC" || c.Crio.Runtime.DisableHostPortMapping {
		t.Errorf("timezone %q disable_hostport_mapping %v: want the [crio.runtime] values", c.Crio.Runtime.Timezone, c.Crio.Runtime.DisableHostPortMapping)
	}
	if got := ignoredList(ignored); got != "m.conf:crio.runtime.runtimes.crun.disable_hostport_mapping" {
		t.Errorf("ignored %s", got)
	} else if !strings.Contains(ignored[0].Why, "only in [crio.runtime]") {
		t.Errorf("reason %q", ignored[0].Why)
	}
}

// TestUnknownKeysNamedWithFile: typos and unknown tables never fail the load;
// an unknown table is named once, not with each of its keys.
func TestUnknownKeysNamedWithFile(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.conf", "[crio.runtime]\ncgroup_managr = \"systemd\"\n[crio.nosuch]\nx = 1\n[crio.nosuch.deeper]\ny = 2\n")
	b := writeFile(t, dir, "b.conf", "[crio.runtime.runtimes.kata]\nruntime_pth = \"/x\"\n")
	c, ignored, err := Load([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got := ignoredList(ignored); got != "a.conf:crio.runtime.cgroup_managr,a.conf:crio.nosuch,b.conf:crio.runtime.runtimes.kata.runtime_pth" {
		t.Errorf("ignored %s", got)
	}
	if _, ok := c.Crio.Runtime.Runtimes["kata"]; !ok {
		t.Error("handler kata not added")
	}
	if s := IgnoredSummary(ignored); !strings.Contains(s, a+": crio.runtime.cgroup_managr (unknown key") {
		t.Errorf("summary %q", s)
	}
}
