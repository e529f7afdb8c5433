package config

// RuntimeConfig is the [crio.runtime] table.
type RuntimeConfig struct {
	DefaultRuntime              string                     `toml:"default_runtime" reload:"true" doc:"Runtime handler used when a pod names none; must be a key of [crio.runtime.runtimes]."`
	Runtimes                    map[string]*RuntimeHandler `toml:"runtimes" flag:"-"`
	Workloads                   map[string]*Workload       `toml:"workloads" flag:"-"`
	DefaultUlimits              []string                   `toml:"default_ulimits" doc:"Ulimits applied to every container, as \"<name>=<soft>:<hard>\" (e.g. \"nofile=1024:2048\")."`
	NoPivot                     bool                       `toml:"no_pivot" notimpl:"true" doc:"Have the OCI runtime use MS_MOVE instead of pivot_root (this runtime always pivots)."`
	DecryptionKeysPath          string                     `toml:"decryption_keys_path" reload:"true" notimpl:"true" doc:"Directory of keys used to decrypt encrypted images."`
	AdditionalArtifactStores    []string                   `toml:"additional_artifact_stores" notimpl:"true" doc:"Read-only OCI artifact stores searched before the main one."`
	Conmon                      string                     `toml:"conmon" doc:"Deprecated CRI-O key: when set, replaces every handler's monitor_path (a path to C conmon or conmon-rs means conmon-go)."`
	ConmonCgroup                string                     `toml:"conmon_cgroup" doc:"Deprecated CRI-O key: when set, replaces every handler's monitor_cgroup."`
	ConmonEnv                   []string                   `toml:"conmon_env" doc:"Deprecated CRI-O key: when set, replaces every handler's monitor_env."`
	DefaultEnv                  []string                   `toml:"default_env" doc:"Environment variables set in every container, as \"KEY=value\"."`
	MinInjectedGOMAXPROCS       int64                      `toml:"min_injected_gomaxprocs" env:"CONTAINER_INJECT_GOMAXPROCS" notimpl:"true" doc:"Inject GOMAXPROCS into burstable and best-effort containers, at least this value; 0 disables."`
	SELinux                     bool                       `toml:"selinux" doc:"Enable SELinux labelling (not supported by this runtime; must stay false)."`
	SeccompProfile              string                     `toml:"seccomp_profile" reload:"true" doc:"Path to a seccomp profile used as RuntimeDefault; empty uses the built-in default profile."`
	PrivilegedSeccompProfile    string                     `toml:"privileged_seccomp_profile" reload:"true" doc:"Seccomp profile for privileged containers. Not supported by this runtime: a non-empty value is an error, since privileged containers would run unconfined."`
	SeccompUseDefaultWhenEmpty  bool                       `toml:"seccomp_use_default_when_empty" doc:"Use the RuntimeDefault profile for containers whose request names no seccomp profile at all (off: such containers are Unconfined, as in CRI-O; the kubelet always names one)."`
	ApparmorProfile             string                     `toml:"apparmor_profile" reload:"true" doc:"AppArmor profile for containers that ask for RuntimeDefault (only where AppArmor is enabled; elsewhere a non-default value is reported as not implemented)."`
	BlockIOConfigFile           string                     `toml:"blockio_config_file" reload:"true" notimpl:"true" doc:"Block I/O class configuration for the blockio cgroup controller."`
	BlockIOReload               bool                       `toml:"blockio_reload" notimpl:"true" doc:"Reload blockio_config_file and rescan block devices before applying block I/O classes."`
	IrqBalanceConfigFile        string                     `toml:"irqbalance_config_file" notimpl:"true" doc:"irqbalance configuration CRI-O edits for pods that disable IRQ load balancing."`
	IrqBalanceConfigRestoreFile string                     `toml:"irqbalance_config_restore_file" notimpl:"true" doc:"File holding the banned-CPU mask restored at start; \"disable\" skips the restore."`
	RdtConfigFile               string                     `toml:"rdt_config_file" reload:"true" notimpl:"true" doc:"RDT (resctrl) class configuration."`
	CgroupManager               string                     `toml:"cgroup_manager" doc:"Cgroup driver: \"systemd\" (slice naming) or \"cgroupfs\". Default: systemd where systemd runs, else cgroupfs."`
	SeparatePullCgroup          string                     `toml:"separate_pull_cgroup" env:"PULL_IN_A_CGROUP" notimpl:"true" doc:"Pull images inside this cgroup (\"pod\": the pod's)."`
	DefaultCapabilities         []string                   `toml:"default_capabilities" doc:"Capabilities every container gets unless its config drops them (the least-privilege set)."`
	AddInheritableCapabilities  bool                       `toml:"add_inheritable_capabilities" notimpl:"true" doc:"Also put the capabilities into the inheritable set (off: inheritable stays empty)."`
	DefaultSysctls              []string                   `toml:"default_sysctls" doc:"Sysctls applied to every container, e.g. \"net.ipv4.ping_group_range=0 2147483647\" so ping works without NET_RAW."`
	AllowedDevices              []string                   `toml:"allowed_devices" doc:"Devices a pod may request through annotations."`
	AdditionalDevices           []string                   `toml:"additional_devices" doc:"Devices added to every container, as \"<host>:<container>:<perms>\"."`
	CDISpecDirs                 []string                   `toml:"cdi_spec_dirs" doc:"Directories of Container Device Interface spec files (*.json, *.yaml) for the devices containers request through cdi_devices or cdi.k8s.io/ annotations; a device defined in several takes the later directory's definition. Changes are picked up at the next create; an empty list resolves no device."`
	DeviceOwnershipFromSecurity bool                       `toml:"device_ownership_from_security_context" notimpl:"true" doc:"Chown devices to the container's RunAsUser/RunAsGroup."`
	HooksDir                    []string                   `toml:"hooks_dir" doc:"Directories of OCI hook definitions (oci-hooks(5) *.json, schema 1.0.0), read at each container create; a later directory replaces a same-named file of an earlier one. The OCI runtime runs the matching hooks."`
	DefaultMounts               []string                   `toml:"default_mounts" flag:"-" notimpl:"true" doc:"Deprecated CRI-O key: mounts \"src:dst\" added to every container."`
	DefaultMountsFile           string                     `toml:"default_mounts_file" doc:"File listing \"/host/path:/container/path\" lines; each existing host path is copied into the container's run directory and bind-mounted into every container. Empty reads /etc/containers/mounts.conf, else /usr/share/containers/mounts.conf."`
	PidsLimit                   int64                      `toml:"pids_limit" doc:"Deprecated: per-container pids limit; 0 or -1 leaves it to the kubelet."`
	LogFilter                   string                     `toml:"log_filter" reload:"true" doc:"Only log messages matching this regular expression."`
	LogLevel                    string                     `toml:"log_level" short:"l" reload:"true" doc:"Log level: fatal, panic, error, warn, info, debug or trace."`
	LogSizeMax                  int64                      `toml:"log_size_max" doc:"Maximum size of a container log in bytes before it is truncated; -1 means unlimited."`
	LogToJournald               bool                       `toml:"log_to_journald" flag:"log-journald" env:"CONTAINER_LOG_JOURNALD" notimpl:"true" doc:"Also send container output to journald."`
	ContainerExitsDir           string                     `toml:"container_exits_dir" env:"CONTAINER_EXITS_DIR" doc:"Directory where monitors write container exit records. Default: /var/run/crio/exits, or <runroot>/crio/exits when runroot is moved."`
	ContainerAttachSocketDir    string                     `toml:"container_attach_socket_dir" env:"CONTAINER_ATTACH_SOCKET_DIR" doc:"Directory holding the attach sockets of containers (one subdirectory per container id)."`
	BindMountPrefix             string                     `toml:"bind_mount_prefix" notimpl:"true" doc:"Prefix added to the source of every bind mount (for a daemon running in a container)."`
	ReadOnly                    bool                       `toml:"read_only" notimpl:"true" doc:"Run every container with a read-only root filesystem."`
	UIDMappings                 string                     `toml:"uid_mappings" doc:"Deprecated CRI-O key: user namespace UID mappings for every container. Not supported: a non-empty value is an error."`
	MinimumMappableUID          int64                      `toml:"minimum_mappable_uid" notimpl:"true" doc:"Lowest host UID a user namespace mapping may use; -1 means no limit."`
	GIDMappings                 string                     `toml:"gid_mappings" doc:"Deprecated CRI-O key: user namespace GID mappings for every container. Not supported: a non-empty value is an error."`
	MinimumMappableGID          int64                      `toml:"minimum_mappable_gid" notimpl:"true" doc:"Lowest host GID a user namespace mapping may use; -1 means no limit."`
	CtrStopTimeout              int64                      `toml:"ctr_stop_timeout" env:"CONTAINER_STOP_TIMEOUT" doc:"CRI-O's minimal stop timeout in seconds; values below 30 are raised to 30 at start (as CRI-O). Like CRI-O, the stop timeout used is the one each StopContainer request carries."`
	DropInfraCtr                bool                       `toml:"drop_infra_ctr" notimpl:"true" doc:"Run pods without an infra container. This runtime always does (an infra process runs only for a shared PID namespace); false is not implemented."`
	InfraCtrCPUSet              string                     `toml:"infra_ctr_cpuset" notimpl:"true" doc:"CPUs the infra containers run on."`
	SharedCPUSet                string                     `toml:"shared_cpuset" notimpl:"true" doc:"CPUs guaranteed containers may share in addition to their exclusive ones."`
	NamespacesDir               string                     `toml:"namespaces_dir" doc:"Directory where pod namespaces are pinned (netns/, ipcns/, utsns/)."`
	PinnsPath                   string                     `toml:"pinns_path" notimpl:"true" doc:"Path of CRI-O's pinns helper. Namespaces are pinned in-process here."`
	AbsentMountSourcesToReject  []string                   `toml:"absent_mount_sources_to_reject" doc:"Host paths that must exist when mounted; others are created as directories."`
	EnableCriuSupport           bool                       `toml:"enable_criu_support" notimpl:"true" doc:"Deprecated CRI-O key: CRIU checkpoint/restore. Not provided by this runtime (CRI-O's default is true)."`
	EnablePodEvents             bool                       `toml:"enable_pod_events" env:"ENABLE_POD_EVENTS" notimpl:"true" doc:"Stream container events to the kubelet (evented PLEG)."`
	HostNetworkDisableSELinux   bool                       `toml:"hostnetwork_disable_selinux" notimpl:"true" doc:"Disable SELinux for host-network pods (SELinux is not used by this runtime)."`
	DisableHostPortMapping      bool                       `toml:"disable_hostport_mapping" env:"DISABLE_HOSTPORT_MAPPING" doc:"Leave hostPort mappings to someone else: pods' port mappings are not passed to CNI, so the portmap plugin is not called."`
	Timezone                    string                     `toml:"timezone" flag:"timezone" short:"tz" env:"CONTAINER_TIME_ZONE" doc:"Timezone for containers (\"Local\" for the host's /etc/localtime, or a name under /usr/share/zoneinfo), bind-mounted read-only at /etc/localtime; empty keeps the image's."`
	MinOOMScoreAdj              int                        `toml:"min_oom_score_adj" flag:"-" doc:"Lowest oom_score_adj containers may get; -1000 means whatever the daemon itself may set (lower requests are clamped)."`
}

// RuntimeHandler is one [crio.runtime.runtimes.<name>] table.
type RuntimeHandler struct {
	RuntimePath                  string            `toml:"runtime_path" doc:"Path of the OCI runtime binary; empty looks the handler name up in $PATH."`
	RuntimeType                  string            `toml:"runtime_type" doc:"Runtime type: \"oci\" (the only one supported)."`
	RuntimeRoot                  string            `toml:"runtime_root" doc:"Root directory the runtime keeps container state in (runc --root)."`
	RuntimeConfigPath            string            `toml:"runtime_config_path" notimpl:"true" doc:"Runtime configuration file, for VM runtimes."`
	MonitorPath                  string            `toml:"monitor_path" doc:"Path of the container monitor; empty uses conmon-go beside the crio binary, then $PATH. A path to C conmon is replaced by conmon-go."`
	MonitorCgroup                string            `toml:"monitor_cgroup" doc:"Cgroup of the monitor: \"pod\" puts it in the pod's cgroup (cgroup v1, cgroupfs parents); \"\" (or, with systemd, a slice) leaves it in the daemon's. CRI-O's \"system.slice\" means \"\" under cgroupfs."`
	MonitorEnv                   []string          `toml:"monitor_env" doc:"Environment the monitor (and the runtime it runs) gets, instead of the daemon's; the daemon's PATH is added when it sets none."`
	MonitorExecCgroup            string            `toml:"monitor_exec_cgroup" notimpl:"true" doc:"\"container\" moves exec probes into the container's cgroup; CRI-O does so only with infra_ctr_cpuset, which this runtime does not implement. Values other than \"\" and \"container\" are refused."`
	AllowedAnnotations           []string          `toml:"allowed_annotations" doc:"Annotations pods of this handler may use to change container behaviour."`
	PrivilegedWithoutHostDevices bool              `toml:"privileged_without_host_devices" doc:"Privileged containers of this handler do not get the host's devices."`
	ContainerMinMemory           string            `toml:"container_min_memory" notimpl:"true" doc:"Smallest memory limit a container of this handler may have (e.g. \"12MiB\")."`
	PlatformRuntimePaths         map[string]string `toml:"platform_runtime_paths" notimpl:"true" doc:"Runtime binary per platform (\"linux/arm64\" = path)."`
	RuntimePullImage             bool              `toml:"runtime_pull_image" notimpl:"true" doc:"The runtime pulls images itself."`
	NoSyncLog                    bool              `toml:"no_sync_log" notimpl:"true" doc:"Skip fsync of container logs on rotation and exit."`
	InheritDefaultRuntime        bool              `toml:"inherit_default_runtime" doc:"Copy runtime_path, runtime_root, runtime_type and runtime_config_path from the default runtime at start."`
	DefaultAnnotations           map[string]string `toml:"default_annotations" notimpl:"true" doc:"Annotations set on this handler's containers unless the pod sets them."`
	StreamWebsockets             bool              `toml:"stream_websockets" notimpl:"true" doc:"Offer WebSocket streaming for exec, attach and port-forward."`
	ExecCPUAffinity              string            `toml:"exec_cpu_affinity" notimpl:"true" doc:"CPU that exec processes run on: \"\" (runtime default) or \"first\"."`
	SeccompProfile               string            `toml:"seccomp_profile" doc:"Seccomp profile used as RuntimeDefault for this handler's containers; empty uses crio.runtime.seccomp_profile."`
	ContainerCreateTimeout       int64             `toml:"container_create_timeout" doc:"Seconds the runtime's create may take before the monitor gives up and removes the container; below 30 is raised to 30 at start, 0 means 240 (as CRI-O)."`
}

// Workload is one [crio.runtime.workloads.<name>] table: pods carrying the
// activation annotation may override resources by annotation.
type Workload struct {
	ActivationAnnotation string             `toml:"activation_annotation" doc:"Pod annotation that selects this workload."`
	AnnotationPrefix     string             `toml:"annotation_prefix" doc:"Prefix of the per-container override annotations ($prefix.$resource/$container)."`
	AllowedAnnotations   []string           `toml:"allowed_annotations" doc:"Annotations pods of this workload may use."`
	Resources            *WorkloadResources `toml:"resources" doc:"Default resources of the workload's containers."`
}

// WorkloadResources is [crio.runtime.workloads.<name>.resources].
type WorkloadResources struct {
	CPUShares uint64 `toml:"cpushares" doc:"CPU shares."`
	CPUQuota  int64  `toml:"cpuquota" doc:"CPU quota in microseconds."`
	CPUPeriod uint64 `toml:"cpuperiod" doc:"CPU period in microseconds."`
	CPUSet    string `toml:"cpuset" doc:"CPU set."`
	CPULimit  int64  `toml:"cpulimit" doc:"CPU limit in millicores (overrides cpuquota)."`
}
