package config

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// crioKeys is CRI-O 1.37's schema (docs/crio.conf.5.md and its config
// structs), table by table. Every key must be accepted.
var crioKeys = map[string]string{
	"crio":                               "root runroot imagestore storage_driver storage_option log_dir version_file version_file_persist internal_wipe internal_repair clean_shutdown_file",
	"crio.api":                           "listen stream_address stream_port stream_enable_tls stream_idle_timeout stream_tls_cert stream_tls_key stream_tls_ca tls_min_version tls_cipher_suites grpc_max_send_msg_size grpc_max_recv_msg_size",
	"crio.runtime":                       "default_runtime default_ulimits no_pivot decryption_keys_path additional_artifact_stores conmon conmon_cgroup conmon_env default_env min_injected_gomaxprocs selinux seccomp_profile privileged_seccomp_profile apparmor_profile blockio_config_file blockio_reload cdi_spec_dirs irqbalance_config_file irqbalance_config_restore_file rdt_config_file cgroup_manager separate_pull_cgroup default_capabilities add_inheritable_capabilities default_sysctls allowed_devices additional_devices hooks_dir default_mounts default_mounts_file pids_limit log_filter log_level log_size_max log_to_journald container_exits_dir container_attach_socket_dir bind_mount_prefix read_only uid_mappings minimum_mappable_uid gid_mappings minimum_mappable_gid ctr_stop_timeout drop_infra_ctr infra_ctr_cpuset shared_cpuset namespaces_dir pinns_path absent_mount_sources_to_reject device_ownership_from_security_context enable_criu_support enable_pod_events hostnetwork_disable_selinux disable_hostport_mapping timezone",
	"crio.runtime.runtimes.*":            "runtime_path runtime_root runtime_type inherit_default_runtime runtime_config_path privileged_without_host_devices allowed_annotations monitor_path monitor_cgroup monitor_env monitor_exec_cgroup platform_runtime_paths runtime_pull_image container_min_memory no_sync_log default_annotations stream_websockets exec_cpu_affinity seccomp_profile container_create_timeout",
	"crio.runtime.workloads.*":           "activation_annotation annotation_prefix allowed_annotations",
	"crio.runtime.workloads.*.resources": "cpushares cpuquota cpuperiod cpuset cpulimit",
	"crio.checkpoint_restore":            "container_level_enabled",
	"crio.image":                         "default_transport global_auth_file namespaced_auth_dir pause_image pause_image_auth_file pause_command pinned_images signature_policy signature_policy_dir image_volumes insecure_registries big_files_temporary_dir separate_pull_cgroup auto_reload_registries pull_progress_timeout oci_artifact_mount_support short_name_mode",
	"crio.network":                       "cni_default_network network_dir plugin_dir plugin_dirs cni_status_grace_period",
	"crio.metrics":                       "enable_metrics metrics_collectors metrics_host metrics_port metrics_socket metrics_cert metrics_key",
	"crio.tracing":                       "enable_tracing tracing_endpoint tracing_sampling_rate_per_million",
	"crio.stats":                         "stats_collection_period collection_period included_pod_metrics",
	"crio.nri":                           "enable_nri nri_plugin_dir nri_plugin_config_dir nri_listen nri_disable_connections nri_plugin_registration_timeout nri_plugin_request_timeout",
	"crio.nri.default_validator":         "nri_enable_default_validator nri_validator_reject_oci_hook_adjustment nri_validator_reject_runtime_default_seccomp_adjustment nri_validator_reject_unconfined_seccomp_adjustment nri_validator_reject_custom_seccomp_adjustment nri_validator_reject_namespace_adjustment nri_validator_required_plugins nri_validator_tolerate_missing_plugins_annotation",
}

func TestEveryCRIOKeyIsInTheTree(t *testing.T) {
	have := map[string]bool{}
	own, res := WorkloadOptions()
	for _, list := range [][]Option{Options(), HandlerOptions(), own, res} {
		for _, o := range list {
			have[o.Path()] = true
		}
	}
	for table, keys := range crioKeys {
		for _, k := range strings.Fields(keys) {
			if !have[table+"."+k] {
				t.Errorf("CRI-O key %s.%s is not in the tree", table, k)
			}
		}
	}
}

// crioFlags pins CRI-O's flag names, aliases and environment variables
// wherever they differ from the key-derived ones.
var crioFlags = map[string]struct{ flag, aliases, env string }{
	"crio.root":                                       {"root", "r", "CONTAINER_ROOT"},
	"crio.storage_driver":                             {"storage-driver", "s", "CONTAINER_STORAGE_DRIVER"},
	"crio.storage_option":                             {"storage-opt", "", "CONTAINER_STORAGE_OPT"},
	"crio.api.listen":                                 {"listen", "", "CONTAINER_LISTEN"},
	"crio.api.stream_enable_tls":                      {"stream-enable-tls", "", "CONTAINER_ENABLE_TLS"},
	"crio.api.stream_tls_cert":                        {"stream-tls-cert", "", "CONTAINER_TLS_CERT"},
	"crio.api.stream_tls_key":                         {"stream-tls-key", "", "CONTAINER_TLS_KEY"},
	"crio.api.stream_tls_ca":                          {"stream-tls-ca", "", "CONTAINER_TLS_CA"},
	"crio.api.stream_idle_timeout":                    {"stream-idle-timeout", "", "STREAM_IDLE_TIMEOUT"},
	"crio.runtime.conmon":                             {"conmon", "", "CONTAINER_CONMON"},
	"crio.runtime.log_level":                          {"log-level", "l", "CONTAINER_LOG_LEVEL"},
	"crio.runtime.log_to_journald":                    {"log-journald", "", "CONTAINER_LOG_JOURNALD"},
	"crio.runtime.hooks_dir":                          {"hooks-dir", "", "CONTAINER_HOOKS_DIR"},
	"crio.runtime.default_mounts_file":                {"default-mounts-file", "", "CONTAINER_DEFAULT_MOUNTS_FILE"},
	"crio.runtime.default_runtime":                    {"default-runtime", "", "CONTAINER_DEFAULT_RUNTIME"},
	"crio.runtime.cgroup_manager":                     {"cgroup-manager", "", "CONTAINER_CGROUP_MANAGER"},
	"crio.runtime.container_exits_dir":                {"container-exits-dir", "", "CONTAINER_EXITS_DIR"},
	"crio.runtime.container_attach_socket_dir":        {"container-attach-socket-dir", "", "CONTAINER_ATTACH_SOCKET_DIR"},
	"crio.runtime.ctr_stop_timeout":                   {"ctr-stop-timeout", "", "CONTAINER_STOP_TIMEOUT"},
	"crio.runtime.min_injected_gomaxprocs":            {"min-injected-gomaxprocs", "", "CONTAINER_INJECT_GOMAXPROCS"},
	"crio.runtime.separate_pull_cgroup":               {"separate-pull-cgroup", "", "PULL_IN_A_CGROUP"},
	"crio.runtime.enable_pod_events":                  {"enable-pod-events", "", "ENABLE_POD_EVENTS"},
	"crio.runtime.disable_hostport_mapping":           {"disable-hostport-mapping", "", "DISABLE_HOSTPORT_MAPPING"},
	"crio.runtime.timezone":                           {"timezone", "tz", "CONTAINER_TIME_ZONE"},
	"crio.checkpoint_restore.container_level_enabled": {"checkpoint-restore-container-level-enabled", "", "CONTAINER_CHECKPOINT_RESTORE_CONTAINER_LEVEL_ENABLED"},
	"crio.image.insecure_registries":                  {"insecure-registry", "", "CONTAINER_INSECURE_REGISTRY"},
	"crio.image.auto_reload_registries":               {"auto-reload-registries", "", "AUTO_RELOAD_REGISTRIES"},
	"crio.image.oci_artifact_mount_support":           {"oci-artifact-mount-support", "", "CONTAINER_OCI_ARTIFACT_SUPPORT"},
	"crio.image.registries_conf":                      {"registries-conf", "", "CONTAINER_REGISTRIES_CONF"},
	"crio.network.cni_default_network":                {"cni-default-network", "", "CONTAINER_CNI_DEFAULT_NETWORK"},
	"crio.network.network_dir":                        {"cni-config-dir", "", "CONTAINER_CNI_CONFIG_DIR"},
	"crio.network.plugin_dirs":                        {"cni-plugin-dir", "", "CONTAINER_CNI_PLUGIN_DIR"},
	"crio.network.cni_status_grace_period":            {"cni-status-grace-period", "", "CNI_STATUS_GRACE_PERIOD"},
	"crio.stats.collection_period":                    {"collection-period", "", "COLLECTION_PERIOD"},
	"crio.stats.included_pod_metrics":                 {"included-pod-metrics", "", "CONTAINER_INCLUDED_POD_METRICS"},
	"crio.nri.enable_nri":                             {"enable-nri", "", "CONTAINER_ENABLE_NRI"},
}

func TestCRIOFlagNames(t *testing.T) {
	byPath := map[string]Option{}
	for _, o := range Options() {
		byPath[o.Path()] = o
	}
	for path, want := range crioFlags {
		o, ok := byPath[path]
		if !ok {
			t.Errorf("no option %s", path)
			continue
		}
		if o.Flag != want.flag || strings.Join(o.Aliases, ",") != want.aliases || len(o.Env) == 0 || o.Env[0] != want.env {
			t.Errorf("%s: flag %q aliases %q env %q, want %q %q %q", path, o.Flag, o.Aliases, o.Env, want.flag, want.aliases, want.env)
		}
	}
}

// otherValue returns a value of v's type that differs from v.
func otherValue(v reflect.Value, key string) reflect.Value {
	switch x := v.Interface().(type) {
	case string:
		return reflect.ValueOf("/other/" + key)
	case bool:
		return reflect.ValueOf(!x)
	case int:
		return reflect.ValueOf(x + 7)
	case int64:
		return reflect.ValueOf(x + 7)
	case uint64:
		return reflect.ValueOf(x + 7)
	case []string:
		return reflect.ValueOf([]string{"other-" + key, "second"})
	case Duration:
		return reflect.ValueOf(Duration{x.Duration + 3*time.Second})
	case map[string]string:
		return reflect.ValueOf(map[string]string{"linux/amd64": "/other/" + key, "odd key": "v"})
	}
	panic(fmt.Sprintf("no other value for %s (%s)", key, v.Type()))
}

func changeAll(opts []Option, v reflect.Value) {
	for _, o := range opts {
		f := fieldByKey(v, o.Key)
		f.Set(otherValue(f, o.Key))
	}
}

// allChanged returns a config in which every option, every handler key and
// every workload key differs from the defaults.
func allChanged(def *Config) *Config {
	c := def.Clone()
	for _, o := range Options() {
		o.Value(c).Set(otherValue(o.Value(c), o.Key))
	}
	changeAll(HandlerOptions(), reflect.ValueOf(c.Crio.Runtime.Runtimes["runc"]).Elem())
	extra := NewHandler()
	changeAll(HandlerOptions(), reflect.ValueOf(extra).Elem())
	c.Crio.Runtime.Runtimes["kata.v2"] = extra
	own, res := WorkloadOptions()
	w := &Workload{Resources: &WorkloadResources{}}
	changeAll(own, reflect.ValueOf(w).Elem())
	changeAll(res, reflect.ValueOf(w.Resources).Elem())
	c.Crio.Runtime.Workloads = map[string]*Workload{"management": w, "bare": {ActivationAnnotation: "x"}}
	return c
}

// TestWriteRoundTripAllOptions: every option set to a non-default value is
// written live by `crio config` and read back unchanged.
func TestWriteRoundTripAllOptions(t *testing.T) {
	def := DefaultFor(Host{})
	c := allChanged(def)
	var out bytes.Buffer
	if err := c.Write(&out, def); err != nil {
		t.Fatal(err)
	}
	for _, o := range Options() {
		if !strings.Contains(out.String(), "\n"+o.Key+" = ") {
			t.Errorf("%s is not written live", o.Path())
		}
	}
	back := DefaultFor(Host{})
	if _, err := back.UpdateFromFile(writeFile(t, t.TempDir(), "all.conf", out.String())); err != nil {
		t.Fatal(err)
	}
	for _, o := range Options() {
		if !sameValue(o.Value(back), o.Value(c)) {
			t.Errorf("%s: read back %v, want %v", o.Path(), o.Value(back), o.Value(c))
		}
	}
	if !reflect.DeepEqual(back.Crio.Runtime.Runtimes, c.Crio.Runtime.Runtimes) {
		t.Errorf("handlers read back differ:\n%+v\n%+v", back.Crio.Runtime.Runtimes["kata.v2"], c.Crio.Runtime.Runtimes["kata.v2"])
	}
	if !reflect.DeepEqual(back.Crio.Runtime.Workloads, c.Crio.Runtime.Workloads) {
		t.Errorf("workloads read back differ:\n%+v\n%+v", back.Crio.Runtime.Workloads["management"], c.Crio.Runtime.Workloads["management"])
	}
	// Pure defaults are all commented out.
	out.Reset()
	if err := def.Write(&out, def); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "[") {
			t.Errorf("default written live: %q", line)
		}
	}
}

// runFlags runs an app with the generated flags and returns the config they
// produce over def.
func runFlags(t *testing.T, def *Config, args []string) (*Config, []string) {
	t.Helper()
	got := def.Clone()
	var unimpl []string
	app := &cli.App{Name: "crio", Flags: Flags(def), Action: func(ctx *cli.Context) error {
		unimpl = UnimplementedFlags(ctx)
		return got.ApplyFlags(ctx)
	}}
	if err := app.Run(append([]string{"crio"}, args...)); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return got, unimpl
}

// flagArg is the command-line text that sets v.
func flagArg(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case []string:
		return strings.Join(x, ",")
	case Duration:
		return x.String()
	}
	return fmt.Sprint(v.Interface())
}

// TestFlagEnvKeyMapping: for every option, its flag (and each alias) and each
// environment twin set exactly its key.
func TestFlagEnvKeyMapping(t *testing.T) {
	def := DefaultFor(Host{})
	for _, o := range Options() {
		if o.Flag == "" {
			continue
		}
		want := otherValue(o.Value(def), o.Key)
		var runs [][]string
		for _, name := range append([]string{o.Flag}, o.Aliases...) {
			dash := "--"
			if len(name) == 1 {
				dash = "-"
			}
			runs = append(runs, []string{dash + name + "=" + flagArg(want)})
		}
		for _, args := range runs {
			got, unimpl := runFlags(t, def, args)
			if !sameValue(o.Value(got), want) {
				t.Errorf("%v: %s = %v, want %v", args, o.Path(), o.Value(got), want)
			}
			if o.NotImpl != (len(unimpl) == 1 && unimpl[0] == "--"+o.Flag) {
				t.Errorf("%v: unimplemented flags %v (notimpl=%v)", args, unimpl, o.NotImpl)
			}
		}
		for _, env := range o.Env {
			t.Run(env, func(t *testing.T) {
				t.Setenv(env, flagArg(want))
				got, _ := runFlags(t, def, nil)
				if !sameValue(o.Value(got), want) {
					t.Errorf("%s: %s = %v, want %v", env, o.Path(), o.Value(got), want)
				}
			})
		}
	}
}

func TestRuntimesSpec(t *testing.T) {
	def := DefaultFor(Host{})
	got, _ := runFlags(t, def, []string{"--runtimes", "crun:/usr/bin/crun:/run/crun", "--runtimes", "kata:/usr/bin/kata:/run/kata:oci:true:/etc/kata.toml:64MiB"})
	if h := got.Crio.Runtime.Runtimes["crun"]; h == nil || h.RuntimePath != "/usr/bin/crun" || h.RuntimeRoot != "/run/crun" || h.RuntimeType != "oci" {
		t.Errorf("crun: %+v", h)
	}
	want := NewHandler()
	want.RuntimePath, want.RuntimeRoot, want.PrivilegedWithoutHostDevices = "/usr/bin/kata", "/run/kata", true
	want.RuntimeConfigPath, want.ContainerMinMemory = "/etc/kata.toml", "64MiB"
	if h := got.Crio.Runtime.Runtimes["kata"]; !reflect.DeepEqual(h, want) {
		t.Errorf("kata: %+v", h)
	}
	t.Setenv("CONTAINER_RUNTIMES", "envrt:/usr/bin/runc:/run/envrt")
	if got, _ := runFlags(t, def, nil); got.Crio.Runtime.Runtimes["envrt"] == nil {
		t.Error("CONTAINER_RUNTIMES not applied")
	}
	for _, bad := range []string{"x", "x::/r", "a:/b:/c:oci:maybe", "a:/b:/c:oci:true:/p:1M:extra"} {
		c := def.Clone()
		if err := c.addRuntimeSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestUnimplemented(t *testing.T) {
	def := DefaultFor(Host{})
	body := `[crio]
internal_wipe = true
internal_repair = true
[crio.runtime]
pinns_path = "/usr/bin/pinns"
conmon = "/usr/bin/conmon"
drop_infra_ctr = true
apparmor_profile = "crio-default"
read_only = true
[crio.runtime.runtimes.runc]
monitor_path = "/usr/libexec/crio/conmon"
no_sync_log = true
[crio.runtime.runtimes.crun]
runtime_path = "/usr/bin/crun"
container_create_timeout = 240
[crio.runtime.workloads.management]
activation_annotation = "target.workload.openshift.io/management"
[crio.runtime.workloads.management.resources]
cpushares = 0
`
	c := def.Clone()
	if _, err := c.UpdateFromFile(writeFile(t, t.TempDir(), "x.conf", body)); err != nil {
		t.Fatal(err)
	}
	want := []string{"crio.internal_repair", "crio.runtime.pinns_path", "crio.runtime.read_only",
		"crio.runtime.runtimes.runc.no_sync_log"} // workloads are implemented (internal/annotations)
	got := c.Unimplemented(def, Host{AppArmor: true})
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unimplemented %v, want %v", got, want)
	}
	if got := c.Unimplemented(def, Host{}); !slices.Contains(got, "crio.runtime.apparmor_profile") {
		t.Errorf("apparmor_profile without AppArmor must be reported: %v", got)
	}
	if repl := c.ConmonReplacements(); !reflect.DeepEqual(repl, []string{"crio.runtime.conmon=/usr/bin/conmon", "crio.runtime.runtimes.runc.monitor_path=/usr/libexec/crio/conmon"}) {
		t.Errorf("conmon replacements %v", repl)
	}
	if got := def.Unimplemented(def, Host{}); len(got) != 0 {
		t.Errorf("defaults report %v", got)
	}
	var out bytes.Buffer
	if err := def.Write(&out, def); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "not implemented by this runtime"); n < 30 { // NRI (15 keys) is implemented
		t.Errorf("only %d options marked not implemented in crio config", n)
	}
}

func TestSecurityValuesAreErrors(t *testing.T) {
	for key, body := range map[string]string{
		"crio.runtime.selinux":                    "[crio.runtime]\nselinux = true\n",
		"crio.runtime.uid_mappings":               "[crio.runtime]\nuid_mappings = \"0:100000:65536\"\n",
		"crio.runtime.gid_mappings":               "[crio.runtime]\ngid_mappings = \"0:100000:65536\"\n",
		"crio.runtime.privileged_seccomp_profile": "[crio.runtime]\nprivileged_seccomp_profile = \"/etc/p.json\"\n",
	} {
		c, _, err := Load([]string{writeFile(t, t.TempDir(), "s.conf", body)})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s: error %v", key, err)
		}
	}
}

func TestPluginDirFolded(t *testing.T) {
	c, _, err := Load([]string{writeFile(t, t.TempDir(), "p.conf", "[crio.network]\nplugin_dir = \"/usr/libexec/cni\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Crio.Network.PluginDirs[0] != "/usr/libexec/cni" {
		t.Errorf("plugin_dirs %v", c.Crio.Network.PluginDirs)
	}
}
