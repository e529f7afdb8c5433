package config

import (
	"os"
	"time"
)

// Default paths, CRI-O's.
const (
	DefaultConfigFile = "/etc/crio/crio.conf"
	DefaultConfigDir  = "/etc/crio/crio.conf.d"
	DefaultSocket     = "/var/run/crio/crio.sock"
)

// DefaultCapabilities is the least-privilege set every container starts from.
var DefaultCapabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "KILL",
}

// Host is what the defaults depend on that differs between machines.
type Host struct {
	// Systemd is true where systemd is PID 1.
	Systemd bool
}

// DetectHost reads the facts Default depends on from this machine.
func DetectHost() Host {
	_, err := os.Stat("/run/systemd/system")
	return Host{Systemd: err == nil}
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
		API: APIConfig{
			Listen:             DefaultSocket,
			StreamAddress:      "127.0.0.1",
			StreamPort:         "0",
			StreamIdleTimeout:  "",
			GRPCMaxSendMsgSize: 80 * 1024 * 1024,
			GRPCMaxRecvMsgSize: 80 * 1024 * 1024,
			ExtraListenAddrs:   []string{},
		},
		Runtime: RuntimeConfig{
			DefaultRuntime: "runc",
			Runtimes: map[string]*RuntimeHandler{
				"runc": {
					RuntimeType:        "oci",
					RuntimeRoot:        "/run/runc",
					MonitorCgroup:      "pod",
					MonitorEnv:         []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
					AllowedAnnotations: []string{},
				},
			},
			CgroupManager:              cgroupManager,
			DefaultCapabilities:        append([]string(nil), DefaultCapabilities...),
			DefaultSysctls:             []string{},
			DefaultUlimits:             []string{},
			DefaultEnv:                 []string{"NSS_SDB_USE_CACHE=no"},
			SeccompUseDefaultWhenEmpty: true,
			LogLevel:                   "info",
			LogSizeMax:                 -1,
			ContainerExitsDir:          "/var/run/crio/exits",
			ContainerAttachSocketDir:   "/var/run/crio",
			NamespacesDir:              "/var/run",
			CtrStopTimeout:             30,
			HooksDir:                   []string{},
			AllowedDevices:             []string{"/dev/fuse", "/dev/net/tun"},
			AdditionalDevices:          []string{},
			AbsentMountSourcesToReject: []string{},
			MinOOMScoreAdj:             -1000,
		},
		Image: ImageConfig{
			DefaultTransport:    "docker://",
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
			MetricsCollectors: []string{},
			MetricsHost:       "127.0.0.1",
			MetricsPort:       9090,
		},
		Stats: StatsConfig{IncludedPodMetrics: []string{}},
	}}
}
