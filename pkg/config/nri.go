package config

import (
	"path/filepath"
	"time"
)

// NRIConfig is the [crio.nri] table: NRI (Node Resource Interface) plugins
// that watch and adjust pods and containers (internal/nri). None of it is
// reloaded on SIGHUP, as in CRI-O: plugins and the socket live as long as
// the daemon.
type NRIConfig struct {
	EnableNRI                    bool     `toml:"enable_nri" doc:"Run NRI (Node Resource Interface) plugins: pre-installed ones from nri_plugin_dir and external ones connecting to nri_listen."`
	NRIPluginDir                 string   `toml:"nri_plugin_dir" doc:"Directory of NRI plugins started with the daemon (executables named <index>-<name>)."`
	NRIPluginConfigDir           string   `toml:"nri_plugin_config_dir" doc:"Directory of configs for the NRI plugins started with the daemon (<index>-<name>.conf or <name>.conf)."`
	NRIListen                    string   `toml:"nri_listen" doc:"Socket externally started NRI plugins connect to."`
	NRIDisableConnections        bool     `toml:"nri_disable_connections" doc:"Refuse externally started NRI plugins (no socket); only pre-installed ones run."`
	NRIPluginRegistrationTimeout Duration `toml:"nri_plugin_registration_timeout" doc:"How long an NRI plugin may take to register."`
	NRIPluginRequestTimeout      Duration `toml:"nri_plugin_request_timeout" doc:"How long an NRI plugin may take to answer a request; a slower plugin is disconnected, and fails the request only if its failure policy asks for that."`

	DefaultValidator NRIValidatorConfig `toml:"default_validator"`
}

// NRIValidatorConfig is the [crio.nri.default_validator] table: NRI's
// built-in validator plugin, which refuses some adjustments.
type NRIValidatorConfig struct {
	Enable                                bool     `toml:"nri_enable_default_validator" doc:"Run the built-in validator that limits what NRI plugins may change."`
	RejectOCIHookAdjustment               bool     `toml:"nri_validator_reject_oci_hook_adjustment" doc:"Refuse NRI plugins that add OCI hooks."`
	RejectRuntimeDefaultSeccompAdjustment bool     `toml:"nri_validator_reject_runtime_default_seccomp_adjustment" doc:"Refuse NRI plugins that change the RuntimeDefault seccomp profile."`
	RejectUnconfinedSeccompAdjustment     bool     `toml:"nri_validator_reject_unconfined_seccomp_adjustment" doc:"Refuse NRI plugins that change an Unconfined seccomp profile."`
	RejectCustomSeccompAdjustment         bool     `toml:"nri_validator_reject_custom_seccomp_adjustment" doc:"Refuse NRI plugins that change a Localhost seccomp profile."`
	RejectNamespaceAdjustment             bool     `toml:"nri_validator_reject_namespace_adjustment" doc:"Refuse NRI plugins that change Linux namespaces."`
	RequiredPlugins                       []string `toml:"nri_validator_required_plugins" doc:"NRI plugins that must be present for a container to be created."`
	TolerateMissingPluginsAnnotation      string   `toml:"nri_validator_tolerate_missing_plugins_annotation" doc:"Annotation that lets a pod or container be created without the required NRI plugins."`
}

// defaultNRI is CRI-O's [crio.nri] defaults.
func defaultNRI() NRIConfig {
	return NRIConfig{
		EnableNRI:                    true,
		NRIPluginDir:                 "/opt/nri/plugins",
		NRIPluginConfigDir:           "/etc/nri/conf.d",
		NRIListen:                    "/var/run/nri/nri.sock",
		NRIPluginRegistrationTimeout: Duration{5 * time.Second},
		NRIPluginRequestTimeout:      Duration{2 * time.Second},
		DefaultValidator:             NRIValidatorConfig{RequiredPlugins: []string{}},
	}
}

func (c *Config) validateNRI() error {
	n := c.Crio.NRI
	if !n.EnableNRI {
		return nil
	}
	for key, p := range map[string]string{
		"crio.nri.nri_listen": n.NRIListen, "crio.nri.nri_plugin_dir": n.NRIPluginDir, "crio.nri.nri_plugin_config_dir": n.NRIPluginConfigDir,
	} {
		if !filepath.IsAbs(p) {
			return bad(key, p, "must be an absolute path")
		}
	}
	for key, d := range map[string]Duration{
		"crio.nri.nri_plugin_registration_timeout": n.NRIPluginRegistrationTimeout,
		"crio.nri.nri_plugin_request_timeout":      n.NRIPluginRequestTimeout,
	} {
		if d.Duration <= 0 {
			return bad(key, d.String(), "must be positive")
		}
	}
	return nil
}
