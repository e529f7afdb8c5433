// Package config holds crio's one configuration tree. Every option is described
// once, by its struct field and tags: `toml` is CRI-O's key, `flag` the CLI flag
// (default: the key with dashes), `short` a one-letter alias, `env` the
// environment twin (default: CONTAINER_<KEY>), `doc` the help text, and
// `reload:"true"` marks what SIGHUP may change. The TOML writer, the CLI flags,
// crio.conf.example and the completions are all generated from these tags.
package config

// Config is the whole daemon configuration, in CRI-O's TOML layout.
type Config struct {
	Crio CrioConfig `toml:"crio"`
}

// CrioConfig is the [crio] table.
type CrioConfig struct {
	Root              string   `toml:"root" short:"r" doc:"Path to the root directory in which images and containers are stored."`
	RunRoot           string   `toml:"runroot" doc:"Path to the state directory in which images and containers keep their runtime state."`
	StorageDriver     string   `toml:"storage_driver" short:"s" doc:"Storage driver used to manage the storage of images and containers (overlay or vfs)."`
	StorageOption     []string `toml:"storage_option" doc:"Options passed to the storage driver, e.g. \"overlay.mountopt=nodev\"."`
	LogDir            string   `toml:"log_dir" doc:"Default log directory for containers whose pod does not set one."`
	VersionFile       string   `toml:"version_file" doc:"File that records the version the daemon last ran as; cleared at reboot (keep it on a tmpfs)."`
	CleanShutdownFile string   `toml:"clean_shutdown_file" doc:"File written when the daemon shuts down cleanly, so the next start knows storage was synced."`
	StateDir          string   `toml:"state_dir" doc:"Directory where crio keeps pod and container records (crash-safe, one file per object)."`

	API     APIConfig     `toml:"api"`
	Runtime RuntimeConfig `toml:"runtime"`
	Image   ImageConfig   `toml:"image"`
	Network NetworkConfig `toml:"network"`
	Metrics MetricsConfig `toml:"metrics"`
	Stats   StatsConfig   `toml:"stats"`
}

// APIConfig is the [crio.api] table.
type APIConfig struct {
	Listen             string   `toml:"listen" doc:"Path to the CRI unix socket the kubelet talks to."`
	StreamAddress      string   `toml:"stream_address" doc:"IP address on which the streaming server (exec, attach, port-forward) listens."`
	StreamPort         string   `toml:"stream_port" doc:"Port of the streaming server; 0 picks a free port."`
	StreamEnableTLS    bool     `toml:"stream_enable_tls" doc:"Serve the streaming endpoint over TLS."`
	StreamIdleTimeout  string   `toml:"stream_idle_timeout" doc:"Length of time until open streams terminate due to lack of activity (Go duration; empty means no limit)."`
	StreamTLSCert      string   `toml:"stream_tls_cert" doc:"Certificate of the streaming server; reloaded when it changes."`
	StreamTLSKey       string   `toml:"stream_tls_key" doc:"Key of the streaming server; reloaded when it changes."`
	StreamTLSCA        string   `toml:"stream_tls_ca" doc:"CA used to verify streaming clients; reloaded when it changes."`
	GRPCMaxSendMsgSize int      `toml:"grpc_max_send_msg_size" doc:"Maximum gRPC send message size in bytes."`
	GRPCMaxRecvMsgSize int      `toml:"grpc_max_recv_msg_size" doc:"Maximum gRPC receive message size in bytes."`
	ExtraListenAddrs   []string `toml:"extra_listen" flag:"-" doc:"Reserved: further sockets to serve CRI on."`
}

// RuntimeConfig is the [crio.runtime] table.
type RuntimeConfig struct {
	DefaultRuntime              string                     `toml:"default_runtime" doc:"Runtime handler used when a pod names none; must be a key of [crio.runtime.runtimes]."`
	Runtimes                    map[string]*RuntimeHandler `toml:"runtimes" flag:"-"`
	CgroupManager               string                     `toml:"cgroup_manager" doc:"Cgroup driver: \"systemd\" (slice naming) or \"cgroupfs\". Default: systemd where systemd runs, else cgroupfs."`
	DefaultCapabilities         []string                   `toml:"default_capabilities" reload:"true" doc:"Capabilities every container gets unless its config drops them (the least-privilege set)."`
	AddInheritableCapabilities  bool                       `toml:"add_inheritable_capabilities" doc:"Also put the capabilities into the inheritable set (off: inheritable stays empty)."`
	DefaultSysctls              []string                   `toml:"default_sysctls" reload:"true" doc:"Sysctls applied to every container, e.g. \"net.ipv4.ping_group_range=0 2147483647\" so ping works without NET_RAW."`
	DefaultUlimits              []string                   `toml:"default_ulimits" reload:"true" doc:"Ulimits applied to every container, as \"<name>=<soft>:<hard>\" (e.g. \"nofile=1024:2048\")."`
	DefaultEnv                  []string                   `toml:"default_env" doc:"Environment variables set in every container, as \"KEY=value\"."`
	SeccompProfile              string                     `toml:"seccomp_profile" reload:"true" doc:"Path to a seccomp profile used as RuntimeDefault; empty uses the built-in default profile."`
	SeccompUseDefaultWhenEmpty  bool                       `toml:"seccomp_use_default_when_empty" doc:"Use the RuntimeDefault profile for containers that ask for no profile."`
	ApparmorProfile             string                     `toml:"apparmor_profile" reload:"true" doc:"AppArmor profile for containers that ask for RuntimeDefault (only where AppArmor is enabled)."`
	SELinux                     bool                       `toml:"selinux" doc:"Enable SELinux labelling (not supported by this runtime; must stay false)."`
	LogLevel                    string                     `toml:"log_level" short:"l" reload:"true" doc:"Log level: fatal, panic, error, warn, info, debug or trace."`
	LogFilter                   string                     `toml:"log_filter" reload:"true" doc:"Only log messages matching this regular expression."`
	LogSizeMax                  int64                      `toml:"log_size_max" doc:"Maximum size of a container log in bytes before it is truncated; -1 means unlimited."`
	ContainerExitsDir           string                     `toml:"container_exits_dir" doc:"Directory where monitors write container exit records."`
	ContainerAttachSocketDir    string                     `toml:"container_attach_socket_dir" doc:"Directory holding the attach sockets of containers."`
	NamespacesDir               string                     `toml:"namespaces_dir" doc:"Directory where pod namespaces are pinned (netns/, ipcns/, utsns/)."`
	PidsLimit                   int64                      `toml:"pids_limit" doc:"Deprecated: per-container pids limit; 0 or -1 leaves it to the kubelet."`
	CtrStopTimeout              int64                      `toml:"ctr_stop_timeout" doc:"Minimum seconds a container gets to stop before SIGKILL."`
	ReadOnly                    bool                       `toml:"read_only" doc:"Run every container with a read-only root filesystem."`
	HooksDir                    []string                   `toml:"hooks_dir" doc:"Directories of OCI hooks (reserved; hooks are not run by this runtime)."`
	DefaultMountsFile           string                     `toml:"default_mounts_file" doc:"File listing default mounts \"src:dst\" for every container (reserved)."`
	AllowedDevices              []string                   `toml:"allowed_devices" doc:"Devices a pod may request through annotations."`
	AdditionalDevices           []string                   `toml:"additional_devices" doc:"Devices added to every container, as \"<host>:<container>:<perms>\"."`
	DeviceOwnershipFromSecurity bool                       `toml:"device_ownership_from_security_context" doc:"Chown devices to the container's RunAsUser/RunAsGroup."`
	AbsentMountSourcesToReject  []string                   `toml:"absent_mount_sources_to_reject" doc:"Host paths that must exist when mounted; others are created as directories."`
	Timezone                    string                     `toml:"timezone" flag:"tz" doc:"Timezone for containers (\"Local\" or a tz name); empty keeps the image's."`
	MinOOMScoreAdj              int                        `toml:"min_oom_score_adj" flag:"-" doc:"Lowest oom_score_adj containers may get; -1000 means whatever the daemon itself may set (lower requests are clamped)."`
}

// RuntimeHandler is one [crio.runtime.runtimes.<name>] table.
type RuntimeHandler struct {
	RuntimePath                  string   `toml:"runtime_path" doc:"Path of the OCI runtime binary; empty looks the handler name up in $PATH."`
	RuntimeType                  string   `toml:"runtime_type" doc:"Runtime type: \"oci\" (the only one supported)."`
	RuntimeRoot                  string   `toml:"runtime_root" doc:"Root directory the runtime keeps container state in (runc --root)."`
	RuntimeConfigPath            string   `toml:"runtime_config_path" doc:"Path to a runtime configuration file (passed to runtimes that take one)."`
	MonitorPath                  string   `toml:"monitor_path" doc:"Path of the container monitor; empty uses conmon-go beside the crio binary, then $PATH."`
	MonitorCgroup                string   `toml:"monitor_cgroup" doc:"Cgroup for the monitor: \"pod\" (default) places it in the pod's cgroup."`
	MonitorEnv                   []string `toml:"monitor_env" doc:"Environment the monitor runs with."`
	AllowedAnnotations           []string `toml:"allowed_annotations" doc:"Annotations pods of this handler may use to change container behaviour."`
	PrivilegedWithoutHostDevices bool     `toml:"privileged_without_host_devices" doc:"Privileged containers of this handler do not get the host's devices."`
	ContainerMinMemory           string   `toml:"container_min_memory" doc:"Smallest memory limit a container of this handler may have (e.g. \"12MiB\")."`
}

// ImageConfig is the [crio.image] table.
type ImageConfig struct {
	DefaultTransport     string   `toml:"default_transport" doc:"Transport used for image references without one (only docker:// is accepted from the CRI)."`
	GlobalAuthFile       string   `toml:"global_auth_file" doc:"Path to an auth.json with credentials used for every pull."`
	PauseImage           string   `toml:"pause_image" reload:"true" doc:"Image of the infra process for pods that share one PID namespace; empty uses the built-in pause binary (no pull)."`
	PauseImageAuthFile   string   `toml:"pause_image_auth_file" reload:"true" doc:"Auth file used to pull pause_image."`
	PauseCommand         string   `toml:"pause_command" reload:"true" doc:"Command run in the infra container."`
	PinnedImages         []string `toml:"pinned_images" reload:"true" doc:"Images (exact, or glob with a trailing *) the kubelet must never garbage-collect."`
	SignaturePolicy      string   `toml:"signature_policy" reload:"true" doc:"Path to the signature policy (policy.json) enforced on every pull."`
	SignaturePolicyDir   string   `toml:"signature_policy_dir" reload:"true" doc:"Directory of per-namespace policies <namespace>.json, used before signature_policy."`
	InsecureRegistries   []string `toml:"insecure_registries" reload:"true" doc:"Registries reached without TLS verification (prefer registries.conf)."`
	ImageVolumes         string   `toml:"image_volumes" doc:"What to do with an image's VOLUMEs: mkdir, bind or ignore."`
	BigFilesTemporaryDir string   `toml:"big_files_temporary_dir" doc:"Directory for temporary files of large image downloads; empty uses /var/tmp."`
	ShortNameMode        string   `toml:"short_name_mode" reload:"true" doc:"Short-name resolution: enforcing (ambiguous names fail) or disabled (first match wins)."`
	PullProgressTimeout  Duration `toml:"pull_progress_timeout" doc:"Cancel a pull when no bytes moved for this long; 0s disables."`
	RegistriesConf       string   `toml:"registries_conf" env:"CONTAINERS_REGISTRIES_CONF" reload:"true" doc:"Path to registries.conf (search registries, mirrors, rewrites, insecure, blocked)."`
	RegistriesConfDir    string   `toml:"registries_conf_dir" reload:"true" doc:"Directory of registries.conf drop-ins."`
	AutoReloadRegistries bool     `toml:"auto_reload_registries" doc:"Reload registries.conf whenever it changes, not only on SIGHUP."`
}

// NetworkConfig is the [crio.network] table.
type NetworkConfig struct {
	CNIDefaultNetwork string   `toml:"cni_default_network" doc:"Name of the CNI network to use; empty picks the first config in network_dir."`
	NetworkDir        string   `toml:"network_dir" flag:"cni-config-dir" doc:"Directory of CNI network configs; when it is empty a built-in bridge network is used."`
	PluginDirs        []string `toml:"plugin_dirs" flag:"cni-plugin-dir" doc:"Directories searched for CNI plugin binaries."`
	DefaultSubnet     string   `toml:"default_subnet" doc:"Subnet of the built-in bridge network used when network_dir holds no config."`
}

// MetricsConfig is the [crio.metrics] table.
type MetricsConfig struct {
	EnableMetrics     bool     `toml:"enable_metrics" doc:"Serve Prometheus metrics."`
	MetricsCollectors []string `toml:"metrics_collectors" doc:"Metric collectors to enable (empty: all)."`
	MetricsHost       string   `toml:"metrics_host" doc:"Address the metrics endpoint listens on (loopback by default)."`
	MetricsPort       int      `toml:"metrics_port" doc:"Port of the metrics endpoint."`
	MetricsSocket     string   `toml:"metrics_socket" doc:"Unix socket to serve metrics on as well."`
	MetricsCert       string   `toml:"metrics_cert" doc:"Certificate for the metrics endpoint (TLS when set with metrics_key)."`
	MetricsKey        string   `toml:"metrics_key" doc:"Key for the metrics endpoint."`
}

// StatsConfig is the [crio.stats] table.
type StatsConfig struct {
	StatsCollectionPeriod int      `toml:"stats_collection_period" doc:"Seconds between background stats collections; 0 collects on demand."`
	CollectionPeriod      int      `toml:"collection_period" doc:"Seconds between pod metrics collections; 0 collects on demand."`
	IncludedPodMetrics    []string `toml:"included_pod_metrics" doc:"Pod metrics to report (cpu, memory, network, process, ...)."`
}
