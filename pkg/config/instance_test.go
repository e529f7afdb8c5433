package config

import (
	"testing"
)

// TestInstancePathsFollowRoot: per-instance paths are CRI-O's fixed ones
// while root/runroot are at their defaults, follow them when moved, and an
// explicit value always wins.
func TestInstancePathsFollowRoot(t *testing.T) {
	dir := t.TempDir()
	paths := func(c *Config) [5]string {
		return [5]string{c.Crio.StateDir, c.Crio.CleanShutdownFile, c.Crio.VersionFile, c.Crio.Runtime.ContainerExitsDir, c.Crio.Runtime.ContainerAttachSocketDir}
	}
	for name, tc := range map[string]struct {
		body string
		want [5]string
	}{
		"defaults": {"", [5]string{"/var/lib/crio/state", "/var/lib/crio/clean.shutdown", "/var/run/crio/version", "/var/run/crio/exits", "/var/run/crio"}},
		"same root spelled /var/run": {"[crio]\nrunroot = \"/var/run/containers/storage/\"\n",
			[5]string{"/var/lib/crio/state", "/var/lib/crio/clean.shutdown", "/var/run/crio/version", "/var/run/crio/exits", "/var/run/crio"}},
		"moved": {"[crio]\nroot = \"/data/a\"\nrunroot = \"/run/a\"\n",
			[5]string{"/data/a/crio/state", "/data/a/crio/clean.shutdown", "/run/a/crio/version", "/run/a/crio/exits", "/var/run/crio"}},
		"only root moved": {"[crio]\nroot = \"/data/b\"\n",
			[5]string{"/data/b/crio/state", "/data/b/crio/clean.shutdown", "/var/run/crio/version", "/var/run/crio/exits", "/var/run/crio"}},
		"explicit wins": {"[crio]\nroot = \"/data/c\"\nstate_dir = \"/srv/state\"\n[crio.runtime]\ncontainer_exits_dir = \"/var/run/crio/exits\"\n",
			[5]string{"/srv/state", "/data/c/crio/clean.shutdown", "/var/run/crio/version", "/var/run/crio/exits", "/var/run/crio"}},
	} {
		c, _, err := Load([]string{writeFile(t, dir, "i.conf", tc.body)})
		if err != nil {
			t.Fatal(err)
		}
		if got := paths(c); got != tc.want {
			t.Errorf("%s: got %v\nwant %v", name, got, tc.want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
