package config

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crio-runtime/crio/internal/procattr"
)

// ValidationError names the key and the bad value.
type ValidationError struct {
	Key   string
	Value any
	Why   string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid value %v for %s: %s", quote(e.Value), e.Key, e.Why)
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

func bad(key string, v any, why string, args ...any) error {
	return &ValidationError{Key: key, Value: v, Why: fmt.Sprintf(why, args...)}
}

// MinLogSizeMax is CRI-O's smallest log_size_max: one read buffer of the
// monitor, so a single read never overflows a fresh file.
const MinLogSizeMax = 8192

var logLevels = []string{"fatal", "panic", "error", "warn", "warning", "info", "debug", "trace"}

// Validate checks the config and returns the first problem, naming the key.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validatePaths, c.validateAPI, c.validateRuntime, c.validateSecurity, c.validateNodeFiles, c.validateImage, c.validateNetwork, c.validateNRI, c.validateCompatKeys} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validatePaths() error {
	for key, p := range map[string]string{
		"crio.root": c.Crio.Root, "crio.runroot": c.Crio.RunRoot, "crio.log_dir": c.Crio.LogDir,
		"crio.state_dir": c.Crio.StateDir, "crio.api.listen": c.Crio.API.Listen,
		"crio.runtime.container_exits_dir":         c.Crio.Runtime.ContainerExitsDir,
		"crio.runtime.container_attach_socket_dir": c.Crio.Runtime.ContainerAttachSocketDir,
		"crio.runtime.namespaces_dir":              c.Crio.Runtime.NamespacesDir,
		"crio.network.network_dir":                 c.Crio.Network.NetworkDir,
	} {
		if !filepath.IsAbs(p) {
			return bad(key, p, "must be an absolute path")
		}
	}
	if d := c.Crio.StorageDriver; d != "" && d != "overlay" && d != "vfs" {
		return bad("crio.storage_driver", d, "must be overlay or vfs")
	}
	return nil
}

func (c *Config) validateAPI() error {
	a := c.Crio.API
	if net.ParseIP(a.StreamAddress) == nil {
		return bad("crio.api.stream_address", a.StreamAddress, "must be an IP address")
	}
	if p, err := strconv.Atoi(a.StreamPort); err != nil || p < 0 || p > 65535 {
		return bad("crio.api.stream_port", a.StreamPort, "must be a port number 0-65535")
	}
	if a.StreamIdleTimeout != "" {
		if _, err := time.ParseDuration(a.StreamIdleTimeout); err != nil {
			return bad("crio.api.stream_idle_timeout", a.StreamIdleTimeout, "must be a Go duration like 4h0m0s")
		}
	}
	if a.StreamEnableTLS && (a.StreamTLSCert == "" || a.StreamTLSKey == "") {
		return bad("crio.api.stream_enable_tls", true, "needs stream_tls_cert and stream_tls_key")
	}
	if a.GRPCMaxSendMsgSize <= 0 {
		return bad("crio.api.grpc_max_send_msg_size", a.GRPCMaxSendMsgSize, "must be positive")
	}
	if a.GRPCMaxRecvMsgSize <= 0 {
		return bad("crio.api.grpc_max_recv_msg_size", a.GRPCMaxRecvMsgSize, "must be positive")
	}
	return nil
}

func (c *Config) validateRuntime() error {
	r := c.Crio.Runtime
	if r.CgroupManager != "cgroupfs" && r.CgroupManager != "systemd" {
		return bad("crio.runtime.cgroup_manager", r.CgroupManager, "must be cgroupfs or systemd")
	}
	if r.LogSizeMax >= 0 && r.LogSizeMax < MinLogSizeMax {
		return bad("crio.runtime.log_size_max", r.LogSizeMax, "must be negative (unlimited) or at least %d bytes", MinLogSizeMax)
	}
	if !slices.Contains(logLevels, strings.ToLower(r.LogLevel)) {
		return bad("crio.runtime.log_level", r.LogLevel, "must be one of %s", strings.Join(logLevels, ", "))
	}
	if _, ok := r.Runtimes[r.DefaultRuntime]; !ok {
		return bad("crio.runtime.default_runtime", r.DefaultRuntime, "no such handler in [crio.runtime.runtimes] (have %s)", strings.Join(c.HandlerNames(), ", "))
	}
	for name, h := range r.Runtimes {
		key := "crio.runtime.runtimes." + name
		if h.RuntimeType != "" && h.RuntimeType != "oci" {
			return bad(key+".runtime_type", h.RuntimeType, "only \"oci\" is supported")
		}
		if h.RuntimePath != "" && !filepath.IsAbs(h.RuntimePath) {
			return bad(key+".runtime_path", h.RuntimePath, "must be an absolute path")
		}
	}
	for _, cp := range r.DefaultCapabilities {
		if _, ok := procattr.NormalizeCapability(cp); !ok {
			return bad("crio.runtime.default_capabilities", cp, "unknown capability")
		}
	}
	for _, s := range r.DefaultSysctls {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return bad("crio.runtime.default_sysctls", s, "must be name=value")
		}
		// As CRI-O: neither the runtime nor the kernel takes "name = value".
		if strings.TrimSpace(k) != k || strings.TrimSpace(v) != v {
			return bad("crio.runtime.default_sysctls", s, "extra spaces found: format should be key=value")
		}
	}
	for _, u := range r.DefaultUlimits {
		if _, err := procattr.ParseUlimit(u); err != nil {
			return bad("crio.runtime.default_ulimits", u, "%v", err)
		}
	}
	if r.CtrStopTimeout < 0 {
		return bad("crio.runtime.ctr_stop_timeout", r.CtrStopTimeout, "must not be negative")
	}
	return nil
}

// validateSecurity refuses CRI-O settings that ask for a security property
// this runtime cannot give; ignoring them would silently weaken isolation.
func (c *Config) validateSecurity() error {
	r := c.Crio.Runtime
	if r.SELinux {
		return bad("crio.runtime.selinux", true, "SELinux labelling is not supported by this runtime")
	}
	if r.UIDMappings != "" {
		return bad("crio.runtime.uid_mappings", r.UIDMappings, "user namespace mappings for every container are not supported by this runtime")
	}
	if r.GIDMappings != "" {
		return bad("crio.runtime.gid_mappings", r.GIDMappings, "user namespace mappings for every container are not supported by this runtime")
	}
	if r.PrivilegedSeccompProfile != "" {
		return bad("crio.runtime.privileged_seccomp_profile", r.PrivilegedSeccompProfile, "seccomp for privileged containers is not supported by this runtime")
	}
	return nil
}

func (c *Config) validateImage() error {
	i := c.Crio.Image
	if !slices.Contains([]string{"mkdir", "bind", "ignore"}, i.ImageVolumes) {
		return bad("crio.image.image_volumes", i.ImageVolumes, "must be mkdir, bind or ignore")
	}
	if i.ShortNameMode != "enforcing" && i.ShortNameMode != "disabled" {
		return bad("crio.image.short_name_mode", i.ShortNameMode, "must be enforcing or disabled")
	}
	if i.PullProgressTimeout.Duration < 0 {
		return bad("crio.image.pull_progress_timeout", i.PullProgressTimeout.String(), "must not be negative")
	}
	if i.DefaultTransport != "docker://" {
		return bad("crio.image.default_transport", i.DefaultTransport, "only docker:// is supported")
	}
	return nil
}

func (c *Config) validateNetwork() error {
	n := c.Crio.Network
	if _, _, err := net.ParseCIDR(n.DefaultSubnet); err != nil {
		return bad("crio.network.default_subnet", n.DefaultSubnet, "must be a CIDR like 10.85.0.0/16")
	}
	for _, d := range n.PluginDirs {
		if !filepath.IsAbs(d) {
			return bad("crio.network.plugin_dirs", d, "must be an absolute path")
		}
	}
	m := c.Crio.Metrics
	if m.MetricsPort <= 0 || m.MetricsPort > 65535 {
		return bad("crio.metrics.metrics_port", m.MetricsPort, "must be a port number 1-65535")
	}
	if m.MetricsHost != "" && net.ParseIP(m.MetricsHost) == nil && m.MetricsHost != "localhost" {
		return bad("crio.metrics.metrics_host", m.MetricsHost, "must be an IP address")
	}
	if c.Crio.Stats.StatsCollectionPeriod < 0 {
		return bad("crio.stats.stats_collection_period", c.Crio.Stats.StatsCollectionPeriod, "must not be negative")
	}
	return c.Crio.Stats.validatePodMetrics()
}

// HandlerNames lists the configured runtime handlers, sorted.
func (c *Config) HandlerNames() []string { return sortedKeys(c.Crio.Runtime.Runtimes) }

// HandlerAllowedAnnotations is the allowed_annotations of the runtime
// handler name; nil when no such handler is configured.
func (r *RuntimeConfig) HandlerAllowedAnnotations(name string) []string {
	if h := r.Runtimes[name]; h != nil {
		return h.AllowedAnnotations
	}
	return nil
}
