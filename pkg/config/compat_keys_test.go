package config

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestNormalizeCRIOStartRules(t *testing.T) {
	c := Default()
	c.Crio.Runtime.CgroupManager = "cgroupfs"
	c.Crio.Runtime.CtrStopTimeout = 5
	c.Crio.Runtime.ConmonCgroup = "system.slice"
	c.Crio.Runtime.ConmonEnv = []string{"A=1"}
	c.Crio.Runtime.Runtimes["runc"].ContainerCreateTimeout = 3
	c.Crio.Runtime.Runtimes["kid"] = &RuntimeHandler{InheritDefaultRuntime: true, RuntimeRoot: "/own", ContainerCreateTimeout: 0}
	notes := c.Normalize()
	r := c.Crio.Runtime
	if r.CtrStopTimeout != 30 || r.Runtimes["runc"].ContainerCreateTimeout != 30 || r.Runtimes["kid"].ContainerCreateTimeout != 240 {
		t.Errorf("timeouts not raised: %d %d %d", r.CtrStopTimeout, r.Runtimes["runc"].ContainerCreateTimeout, r.Runtimes["kid"].ContainerCreateTimeout)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "ctr_stop_timeout") {
		t.Errorf("notes: %q", notes)
	}
	for name, h := range r.Runtimes {
		if h.MonitorCgroup != "" || len(h.MonitorEnv) != 1 || h.MonitorEnv[0] != "A=1" {
			t.Errorf("%s: conmon_* not translated (system.slice means \"\" on cgroupfs): %+v", name, h)
		}
	}
	if r.Runtimes["kid"].RuntimeRoot != "/run/runc" {
		t.Errorf("inherit_default_runtime: root %q", r.Runtimes["kid"].RuntimeRoot)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCompatKeyChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		key  string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"checkpoint level", func(c *Config) { c.Crio.CheckpointRestore.ContainerLevelEnabled = "yes" }, "container_level_enabled"},
		{"tls 1.3", func(c *Config) { c.Crio.API.TLSMinVersion = "VersionTLS13" }, ""},
		{"tls 1.0", func(c *Config) { c.Crio.API.TLSMinVersion = "VersionTLS10" }, "tls_min_version"},
		{"suite", func(c *Config) { c.Crio.API.TLSCipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"} }, ""},
		{"bad suite", func(c *Config) { c.Crio.API.TLSCipherSuites = []string{"nope"} }, "tls_cipher_suites"},
		{"slice on cgroupfs", func(c *Config) { c.Crio.Runtime.Runtimes["runc"].MonitorCgroup = "x.slice" }, "monitor_cgroup"},
		{"slice on systemd", func(c *Config) {
			c.Crio.Runtime.CgroupManager = "systemd"
			c.Crio.Runtime.Runtimes["runc"].MonitorCgroup = "system.slice"
		}, ""},
		{"exec cgroup", func(c *Config) { c.Crio.Runtime.Runtimes["runc"].MonitorExecCgroup = "pod" }, "monitor_exec_cgroup"},
	} {
		c := Default()
		c.Crio.Runtime.CgroupManager = "cgroupfs"
		tc.set(c)
		err := c.validateCompatKeys()
		if (err == nil) != (tc.key == "") || (err != nil && !strings.Contains(err.Error(), tc.key)) {
			t.Errorf("%s: %v, want error naming %q", tc.name, err, tc.key)
		}
	}
	c := Default()
	c.Crio.API.TLSMinVersion, c.Crio.API.TLSCipherSuites = "VersionTLS13", []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
	if v, s := c.TLSSettings(); v != tls.VersionTLS13 || s != nil {
		t.Errorf("TLS 1.3 takes no suites: %x %v", v, s)
	}
}

func TestMonitorEnvironment(t *testing.T) {
	if env := MonitorEnvironment(&RuntimeHandler{MonitorEnv: []string{"X=1"}}, "/bin"); strings.Join(env, ",") != "X=1,PATH=/bin" {
		t.Errorf("daemon PATH not added: %v", env)
	}
	if env := MonitorEnvironment(&RuntimeHandler{MonitorEnv: []string{"PATH=/x"}}, "/bin"); strings.Join(env, ",") != "PATH=/x" {
		t.Errorf("monitor_env PATH must win: %v", env)
	}
}
