package config

import (
	"os"
	"slices"
	"strings"
	"time"

	"github.com/crio-runtime/crio/internal/procattr"
)

// Default paths, CRI-O's.
const (
	DefaultConfigFile = "/etc/crio/crio.conf"
	DefaultConfigDir  = "/etc/crio/crio.conf.d"
	DefaultSocket     = "/var/run/crio/crio.sock"
)

// Host is what the defaults depend on that differs between machines.
type Host struct {
	// Systemd is true where systemd is PID 1.
	Systemd bool
	// AppArmor is true where the kernel has AppArmor enabled.
	AppArmor bool
}

// DetectHost reads the facts Default depends on from this machine.
func DetectHost() Host {
	_, err := os.Stat("/run/systemd/system")
	aa, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return Host{Systemd: err == nil, AppArmor: strings.TrimSpace(string(aa)) == "Y"}
}

// ExampleHost is the host crio.conf.example is generated for, so the file does
// not depend on the machine that generates it.
var ExampleHost = Host{Systemd: true}

// Default returns the defaults for this machine.
func Default() *Config { return DefaultFor(DetectHost()) }

// DefaultFor returns the defaults for the given host.
func DefaultFor(h Host) *Config {
	cgroupManager := "cgroupfs"
	if h.Systemd {
		cgroupManager = "systemd"
	}
	return &Config{Crio: CrioConfig{
		Root:              "/var/lib/containers/storage",
		RunRoot:           "/run/containers/storage",
		StorageDriver:     "overlay",
		StorageOption:     []string{},
		LogDir:            "/var/log/crio/pods",
		VersionFile:       "/var/run/crio/version",
		CleanShutdownFile: "/var/lib/crio/clean.shutdown",
		StateDir:          "/var/lib/crio/state",
		InternalWipe:      true,
		API: APIConfig{
			Listen:             DefaultSocket,
			StreamAddress:      "127.0.0.1",
			StreamPort:         "0",
			StreamIdleTimeout:  "",
			TLSMinVersion:      "VersionTLS12",
			TLSCipherSuites:    []string{},
			GRPCMaxSendMsgSize: 80 * 1024 * 1024,
			GRPCMaxRecvMsgSize: 80 * 1024 * 1024,
			ExtraListenAddrs:   []string{},
		},
		Runtime:           defaultRuntime(cgroupManager),
		CheckpointRestore: CheckpointRestoreConfig{ContainerLevelEnabled: "none"},
		Image: ImageConfig{
			DefaultTransport:    "docker://",
			NamespacedAuthDir:   "/etc/crio/auth",
			PauseCommand:        "/pause",
			PinnedImages:        []string{},
			SignaturePolicy:     "/etc/containers/policy.json",
			InsecureRegistries:  []string{},
			ImageVolumes:        "mkdir",
			ShortNameMode:       "enforcing",
			PullProgressTimeout: Duration{time.Minute},
			RegistriesConf:      "/etc/containers/registries.conf",
			RegistriesConfDir:   "/etc/containers/registries.conf.d",
		},
		Network: NetworkConfig{
			NetworkDir:    "/etc/cni/net.d",
			PluginDirs:    []string{"/opt/cni/bin", "/usr/lib/cni"},
			DefaultSubnet: "10.85.0.0/16",
		},
		Metrics: MetricsConfig{
			MetricsCollectors: slices.Clone(CRIOMetricsCollectors),
			MetricsHost:       "127.0.0.1",
			MetricsPort:       9090,
		},
		Tracing: TracingConfig{TracingEndpoint: "127.0.0.1:4317"},
		Stats:   StatsConfig{IncludedPodMetrics: []string{AllPodMetrics}},
		NRI:     defaultNRI(),
	}}
}

// defaultRuntime is the [crio.runtime] table's defaults: CRI-O's, except
// where this runtime behaves differently (then the default says what it does).
func defaultRuntime(cgroupManager string) RuntimeConfig {
	return RuntimeConfig{
		DefaultRuntime: "runc",
		Runtimes: map[string]*RuntimeHandler{
			"runc": {
				RuntimeType:            "oci",
				RuntimeRoot:            "/run/runc",
				MonitorCgroup:          "pod",
				ContainerCreateTimeout: 240,
				MonitorEnv:             []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				AllowedAnnotations:     []string{},
			},
		},
		Workloads:                   map[string]*Workload{},
		DecryptionKeysPath:          "/etc/crio/keys/",
		AdditionalArtifactStores:    []string{},
		ConmonEnv:                   []string{},
		IrqBalanceConfigFile:        "/etc/sysconfig/irqbalance",
		IrqBalanceConfigRestoreFile: "/etc/sysconfig/orig_irq_banned_cpus",
		CDISpecDirs:                 []string{"/etc/cdi", "/var/run/cdi"},
		DefaultMounts:               []string{},
		PidsLimit:                   -1,
		MinimumMappableUID:          -1,
		MinimumMappableGID:          -1,
		DropInfraCtr:                true,
		HostNetworkDisableSELinux:   true,
		CgroupManager:               cgroupManager,
		DefaultCapabilities:         append([]string(nil), procattr.DefaultCapabilities...),
		DefaultSysctls:              []string{},
		DefaultUlimits:              []string{},
		DefaultEnv:                  []string{"NSS_SDB_USE_CACHE=no"},
		SeccompUseDefaultWhenEmpty:  false, // like CRI-O and containerd: no profile is Unconfined (the kubelet always names one)
		LogLevel:                    "info",
		LogSizeMax:                  -1,
		ContainerExitsDir:           "/var/run/crio/exits",
		ContainerAttachSocketDir:    "/var/run/crio",
		NamespacesDir:               "/var/run",
		CtrStopTimeout:              30,
		HooksDir:                    []string{"/usr/share/containers/oci/hooks.d"},
		AllowedDevices:              []string{"/dev/fuse", "/dev/net/tun"},
		AdditionalDevices:           []string{},
		AbsentMountSourcesToReject:  []string{},
		MinOOMScoreAdj:              -1000,
	}
}

// CRIOMetricsCollectors is CRI-O's collector list (each name is also its
// metric's name after container_runtime_crio_), the metrics_collectors
// default; internal/metrics serves one metric per name.
var CRIOMetricsCollectors = []string{
	"image_pulls_layer_size", "containers_events_dropped_total", "containers_oom_total",
	"processes_defunct", "operations_total", "operations_latency_seconds",
	"operations_latency_seconds_total", "operations_errors_total", "image_pulls_bytes_total",
	"image_pulls_skipped_bytes_total", "image_pulls_failure_total", "image_pulls_success_total",
	"image_layer_reuse_total", "containers_oom_count_total", "containers_seccomp_notifier_count_total",
	"resources_stalled_at_stage", "containers_stopped_monitor_count", "default_runtime",
}
