package config

import (
	"crypto/tls"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// CRI-O's lower bounds: values below are raised to them, with a warning.
const (
	minCtrStopTimeout         = 30
	minContainerCreateTimeout = 30
	defContainerCreateTimeout = 240
)

// Checkpoint/restore levels of [crio.checkpoint_restore] container_level_enabled.
var checkpointLevels = []string{"none", "checkpoint_only", "checkpoint_restore"}

// Normalize applies CRI-O's start-up adjustments to c and returns one note
// per change, for the log: timeouts below CRI-O's minimum are raised to it,
// and enable_criu_support = false means container_level_enabled = "none".
func (c *Config) Normalize() []string {
	var notes []string
	r := &c.Crio.Runtime
	if r.CtrStopTimeout < minCtrStopTimeout {
		notes = append(notes, fmt.Sprintf("forcing crio.runtime.ctr_stop_timeout to lowest possible value of %ds (was %d)", minCtrStopTimeout, r.CtrStopTimeout))
		r.CtrStopTimeout = minCtrStopTimeout
	}
	for _, name := range c.HandlerNames() {
		h := r.Runtimes[name]
		// The deprecated [crio.runtime] keys replace the handlers' ones.
		if r.Conmon != "" {
			h.MonitorPath = r.Conmon
		}
		if r.ConmonCgroup != "" {
			h.MonitorCgroup = r.ConmonCgroup
		}
		if len(r.ConmonEnv) > 0 {
			h.MonitorEnv = append([]string(nil), r.ConmonEnv...)
		}
		// CRI-O's systemd default names a slice cgroupfs cannot use: there
		// it means the daemon's cgroup, as "" does.
		if r.CgroupManager == "cgroupfs" && h.MonitorCgroup == "system.slice" {
			h.MonitorCgroup = ""
		}
		switch {
		case h.ContainerCreateTimeout <= 0:
			h.ContainerCreateTimeout = defContainerCreateTimeout
		case h.ContainerCreateTimeout < minContainerCreateTimeout:
			notes = append(notes, fmt.Sprintf("runtime handler %q container create timeout (%d seconds) is less than minimum, setting to %d seconds", name, h.ContainerCreateTimeout, minContainerCreateTimeout))
			h.ContainerCreateTimeout = minContainerCreateTimeout
		}
	}
	c.inheritDefaultRuntime()
	if l := c.Crio.CheckpointRestore.ContainerLevelEnabled; !r.EnableCriuSupport && l != "none" && slices.Contains(checkpointLevels, l) {
		notes = append(notes, "enable_criu_support is false (deprecated): translated to [crio.checkpoint_restore] container_level_enabled = \"none\"")
		c.Crio.CheckpointRestore.ContainerLevelEnabled = "none"
	}
	return notes
}

// validateCompatKeys checks the values CRI-O checks at start for the keys
// this file's group covers.
func (c *Config) validateCompatKeys() error {
	if l := c.Crio.CheckpointRestore.ContainerLevelEnabled; !slices.Contains(checkpointLevels, l) {
		return bad("crio.checkpoint_restore.container_level_enabled", l, "must be one of %s", strings.Join(checkpointLevels, ", "))
	}
	if _, err := ParseTLSVersion(c.Crio.API.TLSMinVersion); err != nil {
		return bad("crio.api.tls_min_version", c.Crio.API.TLSMinVersion, "%v", err)
	}
	if _, err := ParseCipherSuites(c.Crio.API.TLSCipherSuites); err != nil {
		return bad("crio.api.tls_cipher_suites", c.Crio.API.TLSCipherSuites, "%v", err)
	}
	for _, name := range c.HandlerNames() {
		h := c.Crio.Runtime.Runtimes[name]
		key := "crio.runtime.runtimes." + name
		if err := validMonitorCgroup(h.MonitorCgroup, c.Crio.Runtime.CgroupManager); err != nil {
			return bad(key+".monitor_cgroup", h.MonitorCgroup, "%v", err)
		}
		if h.MonitorExecCgroup != "" && h.MonitorExecCgroup != "container" {
			return bad(key+".monitor_exec_cgroup", h.MonitorExecCgroup, "must be empty or \"container\"")
		}
	}
	return nil
}

// validMonitorCgroup: "pod" puts the monitor in the pod's cgroup, "" leaves
// it in the daemon's; with the systemd driver a slice is accepted too (CRI-O's
// default there is "system.slice"), and means the daemon's cgroup here.
func validMonitorCgroup(v, driver string) error {
	switch {
	case v == "" || v == "pod":
		return nil
	case driver == "systemd" && strings.HasSuffix(v, ".slice") && !strings.Contains(v, "/"):
		return nil
	case driver == "systemd":
		return fmt.Errorf("should be \"pod\" or a systemd slice")
	}
	return fmt.Errorf("the cgroupfs manager's monitor cgroup should be \"pod\" or empty")
}

// MonitorInPodCgroup reports whether the handler's monitors join their pod's
// cgroup (monitor_cgroup = "pod").
func (c *Config) MonitorInPodCgroup(handler string) bool {
	h := c.Crio.Runtime.Runtimes[handler]
	return h == nil || h.MonitorCgroup == "pod"
}

// MonitorEnvironment is the environment a handler's monitors run with:
// monitor_env, plus the daemon's PATH (daemonPath) when it sets none.
func MonitorEnvironment(h *RuntimeHandler, daemonPath string) []string {
	env := append([]string(nil), h.MonitorEnv...)
	hasPath := false
	for _, e := range env {
		hasPath = hasPath || strings.HasPrefix(e, "PATH=")
	}
	if !hasPath && daemonPath != "" {
		env = append(env, "PATH="+daemonPath)
	}
	return env
}

var tlsVersions = map[string]uint16{"VersionTLS12": tls.VersionTLS12, "VersionTLS13": tls.VersionTLS13}

// ParseTLSVersion reads tls_min_version: "" means TLS 1.2.
func ParseTLSVersion(s string) (uint16, error) {
	if s == "" {
		return tls.VersionTLS12, nil
	}
	if v, ok := tlsVersions[s]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("must be VersionTLS12 or VersionTLS13")
}

// ParseCipherSuites reads tls_cipher_suites by Go's (IANA) names; insecure
// suites are refused.
func ParseCipherSuites(names []string) ([]uint16, error) {
	known := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		known[s.Name] = s.ID
	}
	var out []uint16
	for _, n := range names {
		id, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("unknown or insecure cipher suite %q", n)
		}
		out = append(out, id)
	}
	return out, nil
}

// TLSSettings are the minimum version and TLS 1.2 cipher suites of the
// streaming and metrics servers (validated at load).
func (c *Config) TLSSettings() (minVersion uint16, suites []uint16) {
	minVersion, _ = ParseTLSVersion(c.Crio.API.TLSMinVersion)
	if minVersion == tls.VersionTLS12 {
		suites, _ = ParseCipherSuites(c.Crio.API.TLSCipherSuites)
	}
	return minVersion, suites
}

// StripCRIOStatusShape removes from a verbose Status "config" map what the
// daemon adds in CRI-O's shape (sandboxImage, Go field names under "crio"),
// leaving the TOML-keyed tree FromMap reads. TOML keys are all lower case.
func StripCRIOStatusShape(m map[string]any) {
	delete(m, "sandboxImage")
	crio, _ := m["crio"].(map[string]any)
	for k := range crio {
		if k != "" && k[0] >= 'A' && k[0] <= 'Z' {
			delete(crio, k)
		}
	}
}

// inheritDefaultRuntime gives handlers with inherit_default_runtime the
// default handler's runtime_path, runtime_root, runtime_type and
// runtime_config_path (CRI-O's rule); an empty path then names the default
// handler's binary.
func (c *Config) inheritDefaultRuntime() {
	r := &c.Crio.Runtime
	def, ok := r.Runtimes[r.DefaultRuntime]
	if !ok {
		return
	}
	for name, h := range r.Runtimes {
		if !h.InheritDefaultRuntime || name == r.DefaultRuntime {
			continue
		}
		h.RuntimePath, h.RuntimeRoot = def.RuntimePath, def.RuntimeRoot
		h.RuntimeType, h.RuntimeConfigPath = def.RuntimeType, def.RuntimeConfigPath
		if h.RuntimePath == "" { // the default handler's binary is its name in $PATH
			if p, err := exec.LookPath(r.DefaultRuntime); err == nil {
				h.RuntimePath, _ = filepath.Abs(p)
			}
		}
	}
}
