package config

import (
	"path/filepath"
	"strings"
)

// instancePath is a path that belongs to one daemon instance. While root and
// runroot are at their defaults it is CRI-O's fixed default; when the
// operator moves root (or runroot) and does not set the path, it moves with
// it, so two daemons with their own root/runroot never share records, exit
// files or version files. container_attach_socket_dir stays CRI-O's fixed
// /var/run/crio: its entries are per container id, and a socket path below
// a moved runroot could pass the 108-byte limit of a unix socket address.
type instancePath struct {
	key       string // dotted TOML path
	field     func(*Config) *string
	onRunRoot bool   // derived from runroot (volatile), else from root
	rel       string // below the moved root/runroot
}

var instancePaths = []instancePath{
	{"crio.state_dir", func(c *Config) *string { return &c.Crio.StateDir }, false, "crio/state"},
	{"crio.clean_shutdown_file", func(c *Config) *string { return &c.Crio.CleanShutdownFile }, false, "crio/clean.shutdown"},
	{"crio.version_file", func(c *Config) *string { return &c.Crio.VersionFile }, true, "crio/version"},
	{"crio.runtime.container_exits_dir", func(c *Config) *string { return &c.Crio.Runtime.ContainerExitsDir }, true, "crio/exits"},
}

// InstancePathKeys lists the dotted keys whose default follows root or runroot.
func InstancePathKeys() []string {
	out := make([]string, len(instancePaths))
	for i, p := range instancePaths {
		out[i] = p.key
	}
	return out
}

func (c *Config) clearInstancePaths() {
	for _, p := range instancePaths {
		*p.field(c) = ""
	}
}

// FillInstancePaths gives every per-instance path that no file, flag or
// environment variable set its default: CRI-O's fixed path while root (for
// the persistent ones) or runroot (for the volatile ones) is at its default,
// else a path below the configured root or runroot.
func (c *Config) FillInstancePaths() {
	def := DefaultFor(Host{})
	for _, p := range instancePaths {
		dst := p.field(c)
		if *dst != "" {
			continue
		}
		base, defBase := c.Crio.Root, def.Crio.Root
		if p.onRunRoot {
			base, defBase = c.Crio.RunRoot, def.Crio.RunRoot
		}
		if samePath(base, defBase) || base == "" {
			*dst = *p.field(def)
		} else {
			*dst = filepath.Join(base, p.rel)
		}
	}
}

// samePath compares two paths, treating /var/run as /run (a symlink on
// every systemd host; CRI-O's documented defaults use either spelling).
func samePath(a, b string) bool {
	norm := func(p string) string {
		p = filepath.Clean(p)
		if p == "/var/run" || strings.HasPrefix(p, "/var/run/") {
			p = p[len("/var"):]
		}
		return p
	}
	return norm(a) == norm(b)
}
