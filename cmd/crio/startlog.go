package main

import (
	"log/slog"
	"os/exec"

	"github.com/crio-runtime/crio/internal/network"
	"github.com/crio-runtime/crio/pkg/config"
)

// logStartup logs, at info level, what an operator needs to know the
// daemon runs as intended: the config files read, the storage driver, the
// cgroup manager, the default runtime and the CNI network pods join.
func logStartup(log *slog.Logger, cfg *config.Config, files []string, driver string) {
	c := cfg.Crio
	if len(files) == 0 {
		log.Info("No configuration file read; using the defaults")
	} else {
		log.Info("Read configuration files", "files", files)
	}
	log.Info("Using storage", "driver", driver, "root", c.Root, "runroot", c.RunRoot)
	log.Info("Using cgroup manager", "cgroupManager", c.Runtime.CgroupManager)
	rt := c.Runtime.DefaultRuntime
	path := ""
	if h := c.Runtime.Runtimes[rt]; h != nil {
		path = h.RuntimePath
	}
	if path == "" {
		path, _ = exec.LookPath(rt) // what an empty runtime_path means
	}
	log.Info("Using default runtime", "runtime", rt, "path", path, "handlers", cfg.HandlerNames())
	n := c.Network
	list, src, err := network.LoadConfig(n.NetworkDir, n.CNIDefaultNetwork, n.DefaultSubnet)
	if err != nil {
		log.Warn("No usable CNI network yet", "dir", n.NetworkDir, "error", err)
		return
	}
	log.Info("Using CNI network", "network", list.Name, "source", src.String(), "pluginDirs", n.PluginDirs)
}
