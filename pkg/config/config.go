// Package config holds crio's one configuration tree. Every option is described
// once, by its struct field and tags: `toml` is CRI-O's key, `flag` the CLI flag
// (default: the key with dashes; "-" for none), `short` its aliases (comma
// separated), `env` the environment twins (comma separated; default:
// CONTAINER_<KEY>), `doc` the help text, `reload:"true"` marks what SIGHUP may
// change, and `notimpl:"true"` marks a CRI-O key this runtime accepts but does
// not act on (a non-default value is reported in one warning at start). The
// TOML writer, the CLI flags, crio.conf.example and the completions are all
// generated from these tags.
package config

// Config is the whole daemon configuration, in CRI-O's TOML layout.
type Config struct {
	Crio CrioConfig `toml:"crio"`
}

// CrioConfig is the [crio] table.
type CrioConfig struct {
	Root               string   `toml:"root" short:"r" doc:"Path to the root directory in which images and containers are stored. Moving it also moves state_dir and clean_shutdown_file unless they are set."`
	RunRoot            string   `toml:"runroot" doc:"Path to the state directory in which images and containers keep their runtime state. Moving it also moves version_file and container_exits_dir unless they are set."`
	ImageStore         string   `toml:"imagestore" doc:"Separate store for images (pulled images and their layers) instead of root; containers stay under root."`
	StorageDriver      string   `toml:"storage_driver" short:"s" doc:"Storage driver used to manage the storage of images and containers (overlay or vfs)."`
	StorageOption      []string `toml:"storage_option" flag:"storage-opt" env:"CONTAINER_STORAGE_OPT" doc:"Options passed to the storage driver, e.g. \"overlay.mountopt=nodev\"."`
	LogDir             string   `toml:"log_dir" doc:"Default log directory for containers whose pod does not set one."`
	VersionFile        string   `toml:"version_file" doc:"File that records the version the daemon last ran as; cleared at reboot (keep it on a tmpfs). Default: /var/run/crio/version, or <runroot>/crio/version when runroot is moved."`
	VersionFilePersist string   `toml:"version_file_persist" doc:"Persistent version file: crio wipe also removes images when it records another major.minor version (an upgrade); empty keeps images."`
	CleanShutdownFile  string   `toml:"clean_shutdown_file" doc:"File written when the daemon shuts down cleanly, so the next start (and crio wipe) knows storage was synced. Default: /var/lib/crio/clean.shutdown, or <root>/crio/clean.shutdown when root is moved."`
	InternalWipe       bool     `toml:"internal_wipe" notimpl:"true" doc:"Deprecated in CRI-O: wipe containers after a reboot and images after an upgrade at start."`
	InternalRepair     bool     `toml:"internal_repair" notimpl:"true" doc:"Check and repair container storage after an unclean shutdown (CRI-O's default is true)."`
	StateDir           string   `toml:"state_dir" doc:"Directory where crio keeps pod and container records (crash-safe, one file per object), locked by the running daemon. Default: /var/lib/crio/state, or <root>/crio/state when root is moved."`

	API               APIConfig               `toml:"api"`
	Runtime           RuntimeConfig           `toml:"runtime"`
	CheckpointRestore CheckpointRestoreConfig `toml:"checkpoint_restore"`
	Image             ImageConfig             `toml:"image"`
	Network           NetworkConfig           `toml:"network"`
	Metrics           MetricsConfig           `toml:"metrics"`
	Tracing           TracingConfig           `toml:"tracing"`
	Stats             StatsConfig             `toml:"stats"`
	NRI               NRIConfig               `toml:"nri"`
}

// APIConfig is the [crio.api] table.
type APIConfig struct {
	Listen             string   `toml:"listen" doc:"Path to the CRI unix socket the kubelet talks to."`
	StreamAddress      string   `toml:"stream_address" doc:"IP address on which the streaming server (exec, attach, port-forward) listens."`
	StreamPort         string   `toml:"stream_port" doc:"Port of the streaming server; 0 picks a free port."`
	StreamEnableTLS    bool     `toml:"stream_enable_tls" env:"CONTAINER_ENABLE_TLS" doc:"Serve the streaming endpoint over TLS."`
	StreamIdleTimeout  string   `toml:"stream_idle_timeout" env:"STREAM_IDLE_TIMEOUT" doc:"Length of time until open streams terminate due to lack of activity (Go duration; empty means no limit)."`
	StreamTLSCert      string   `toml:"stream_tls_cert" env:"CONTAINER_TLS_CERT" doc:"Certificate of the streaming server; reloaded when it changes."`
	StreamTLSKey       string   `toml:"stream_tls_key" env:"CONTAINER_TLS_KEY" doc:"Key of the streaming server; reloaded when it changes."`
	StreamTLSCA        string   `toml:"stream_tls_ca" env:"CONTAINER_TLS_CA" doc:"CA used to verify streaming clients; reloaded when it changes."`
	TLSMinVersion      string   `toml:"tls_min_version" doc:"Lowest TLS version of the streaming and metrics servers: VersionTLS12 or VersionTLS13."`
	TLSCipherSuites    []string `toml:"tls_cipher_suites" doc:"TLS 1.2 cipher suites of the streaming and metrics servers, by Go's (IANA) names; empty uses Go's defaults."`
	GRPCMaxSendMsgSize int      `toml:"grpc_max_send_msg_size" doc:"Maximum gRPC send message size in bytes."`
	GRPCMaxRecvMsgSize int      `toml:"grpc_max_recv_msg_size" doc:"Maximum gRPC receive message size in bytes."`
	ExtraListenAddrs   []string `toml:"extra_listen" flag:"-" doc:"Reserved: further sockets to serve CRI on."`
}

// CheckpointRestoreConfig is the [crio.checkpoint_restore] table.
type CheckpointRestoreConfig struct {
	ContainerLevelEnabled string `toml:"container_level_enabled" flag:"checkpoint-restore-container-level-enabled" env:"CONTAINER_CHECKPOINT_RESTORE_CONTAINER_LEVEL_ENABLED" notimpl:"true" doc:"Container checkpoint/restore (CRIU): none, checkpoint_only or checkpoint_restore (checked at start; enable_criu_support = false means none). This runtime does none (CRI-O's default is checkpoint_restore)."`
}

// ImageConfig is the [crio.image] table.
type ImageConfig struct {
	DefaultTransport        string   `toml:"default_transport" doc:"Transport used for image references without one (only docker:// is accepted from the CRI)."`
	GlobalAuthFile          string   `toml:"global_auth_file" doc:"Path to an auth.json with credentials used for every pull."`
	NamespacedAuthDir       string   `toml:"namespaced_auth_dir" notimpl:"true" doc:"Directory of per-namespace auth files written by CRI-O's credential provider."`
	PauseImage              string   `toml:"pause_image" reload:"true" doc:"Image of the infra process for pods that share one PID namespace; empty uses the built-in pause binary (no pull)."`
	PauseImageAuthFile      string   `toml:"pause_image_auth_file" reload:"true" notimpl:"true" doc:"Auth file used to pull pause_image."`
	PauseCommand            string   `toml:"pause_command" reload:"true" doc:"Command run in the infra container."`
	PinnedImages            []string `toml:"pinned_images" reload:"true" doc:"Images (exact, or glob with a trailing *) the kubelet must never garbage-collect."`
	SignaturePolicy         string   `toml:"signature_policy" reload:"true" doc:"Path to the signature policy (policy.json) enforced on every pull."`
	SignaturePolicyDir      string   `toml:"signature_policy_dir" reload:"true" notimpl:"true" doc:"Directory of per-namespace policies <namespace>.json, used before signature_policy."`
	InsecureRegistries      []string `toml:"insecure_registries" flag:"insecure-registry" env:"CONTAINER_INSECURE_REGISTRY" reload:"true" doc:"Registries reached without TLS verification (prefer registries.conf)."`
	ImageVolumes            string   `toml:"image_volumes" doc:"What to do with an image's VOLUMEs: mkdir, bind or ignore."`
	BigFilesTemporaryDir    string   `toml:"big_files_temporary_dir" doc:"Directory for temporary files of large image downloads; empty uses /var/tmp."`
	SeparatePullCgroupImage string   `toml:"separate_pull_cgroup" flag:"-" notimpl:"true" doc:"Same as separate_pull_cgroup in [crio.runtime] (CRI-O's manual lists it in this table)."`
	ShortNameMode           string   `toml:"short_name_mode" reload:"true" doc:"Short-name resolution: enforcing (ambiguous names fail) or disabled (first match wins)."`
	PullProgressTimeout     Duration `toml:"pull_progress_timeout" doc:"Cancel a pull when no bytes moved for this long; 0s disables."`
	OCIArtifactMountSupport bool     `toml:"oci_artifact_mount_support" env:"CONTAINER_OCI_ARTIFACT_SUPPORT" notimpl:"true" doc:"Mount OCI artifacts as volumes. Not provided by this runtime (CRI-O's default is true)."`
	RegistriesConf          string   `toml:"registries_conf" env:"CONTAINER_REGISTRIES_CONF,CONTAINERS_REGISTRIES_CONF" reload:"true" doc:"Path to registries.conf (search registries, mirrors, rewrites, insecure, blocked)."`
	RegistriesConfDir       string   `toml:"registries_conf_dir" reload:"true" doc:"Directory of registries.conf drop-ins."`
	AutoReloadRegistries    bool     `toml:"auto_reload_registries" env:"AUTO_RELOAD_REGISTRIES" notimpl:"true" doc:"Reload registries.conf whenever it changes, not only on SIGHUP."`
}

// NetworkConfig is the [crio.network] table.
type NetworkConfig struct {
	CNIDefaultNetwork    string   `toml:"cni_default_network" doc:"Name of the CNI network to use; empty picks the first config in network_dir."`
	NetworkDir           string   `toml:"network_dir" flag:"cni-config-dir" env:"CONTAINER_CNI_CONFIG_DIR" doc:"Directory of CNI network configs; when it is empty a built-in bridge network is used."`
	PluginDir            string   `toml:"plugin_dir" flag:"-" doc:"Deprecated single plugin directory; when set it is searched before plugin_dirs."`
	PluginDirs           []string `toml:"plugin_dirs" flag:"cni-plugin-dir" env:"CONTAINER_CNI_PLUGIN_DIR" doc:"Directories searched for CNI plugin binaries."`
	CNIStatusGracePeriod Duration `toml:"cni_status_grace_period" env:"CNI_STATUS_GRACE_PERIOD" notimpl:"true" doc:"Poll the CNI plugin's STATUS continuously and mark the network not ready after this grace period; 0s checks only at start."`
	DefaultSubnet        string   `toml:"default_subnet" doc:"Subnet of the built-in bridge network used when network_dir holds no config."`
}

// MetricsConfig is the [crio.metrics] table.
type MetricsConfig struct {
	EnableMetrics     bool     `toml:"enable_metrics" doc:"Serve Prometheus metrics."`
	MetricsCollectors []string `toml:"metrics_collectors" doc:"Metrics to serve, by CRI-O's collector names (a crio_ or container_runtime_crio_ prefix is accepted); our own metrics (groups operations, image_pulls, containers, sandbox, go, process) are served unless the list names one of them; empty serves all."`
	MetricsHost       string   `toml:"metrics_host" doc:"Address the metrics endpoint listens on (loopback by default)."`
	MetricsPort       int      `toml:"metrics_port" doc:"Port of the metrics endpoint."`
	MetricsSocket     string   `toml:"metrics_socket" doc:"Unix socket to serve metrics on as well."`
	MetricsCert       string   `toml:"metrics_cert" doc:"Certificate for the metrics endpoint (TLS when set with metrics_key); a self-signed pair is generated when both files are missing, and a changed file is reloaded."`
	MetricsKey        string   `toml:"metrics_key" doc:"Key for the metrics endpoint."`
}

// TracingConfig is the [crio.tracing] table.
type TracingConfig struct {
	EnableTracing                 bool   `toml:"enable_tracing" notimpl:"true" doc:"Export OpenTelemetry traces."`
	TracingEndpoint               string `toml:"tracing_endpoint" notimpl:"true" doc:"Address of the OpenTelemetry gRPC collector."`
	TracingSamplingRatePerMillion int    `toml:"tracing_sampling_rate_per_million" notimpl:"true" doc:"Spans sampled per million; 1000000 samples all."`
}

// StatsConfig is the [crio.stats] table.
type StatsConfig struct {
	StatsCollectionPeriod int      `toml:"stats_collection_period" doc:"Deprecated: seconds between background stats collections; 0 collects on demand."`
	CollectionPeriod      int      `toml:"collection_period" env:"COLLECTION_PERIOD" notimpl:"true" doc:"Seconds between pod metrics collections; 0 collects on demand."`
	IncludedPodMetrics    []string `toml:"included_pod_metrics" env:"CONTAINER_INCLUDED_POD_METRICS,CONTAINER_INCLUDED_POD_METRCIS" doc:"Pod metric groups ListPodSandboxMetrics reports (cpu, memory, network, disk, diskIO, process, spec, hugetlb, pressure, or \"all\" alone); an empty list reports only container_last_seen, as CRI-O. Default \"all\" (CRI-O: empty) so the kubelet and critest get the cAdvisor series."`
}
