package main

import (
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/internal/sdnotify"
	"github.com/crio-runtime/crio/pkg/config"
)

// unimplemented splits what was asked for but is not acted on into config
// keys (set in a file) and flags (set on the command line or environment).
// A key whose flag was given is named once, as the flag.
func unimplemented(c *cli.Context, cfg *config.Config) (keys, flags []string) {
	flags = config.UnimplementedFlags(c)
	byFlag := map[string]bool{}
	for _, f := range flags {
		byFlag[f] = true
	}
	flagOf := map[string]string{}
	for _, o := range config.Options() {
		if o.Flag != "" {
			flagOf[o.Path()] = "--" + o.Flag
		}
	}
	for _, k := range cfg.Unimplemented(config.Default(), config.DetectHost()) {
		if f, ok := flagOf[k]; ok && byFlag[f] {
			continue
		}
		keys = append(keys, k)
	}
	return keys, flags
}

// logCompatibility writes the one start-up warning that names every CRI-O
// setting accepted but not implemented, and says when C conmon is replaced.
func logCompatibility(c *cli.Context, cfg *config.Config, log *slog.Logger) {
	if repl := cfg.ConmonReplacements(); len(repl) > 0 {
		log.Info("CRI-O's conmon is not used: containers are monitored by conmon-go", "settings", strings.Join(repl, ","))
	}
	keys, flags := unimplemented(c, cfg)
	if len(keys)+len(flags) == 0 {
		return
	}
	log.Warn("accepted for CRI-O compatibility but not implemented; these settings have no effect",
		"keys", strings.Join(keys, ","), "flags", strings.Join(flags, ","))
}

// startWatchdog pings systemd's watchdog until stop is closed.
func startWatchdog(stop <-chan struct{}, log *slog.Logger) {
	every := sdnotify.WatchdogInterval()
	if every == 0 {
		return
	}
	log.Debug("systemd watchdog enabled", "interval", every)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = sdnotify.Notify("WATCHDOG=1")
			}
		}
	}()
}

// normalizeNotes are the adjustments the last loadConfig made (CRI-O's
// start-up rules), logged once the logger exists.
var normalizeNotes []string

// logStartChecks logs the adjustments CRI-O makes at start and the
// checkpoint/restore verdict, in CRI-O's words.
func logStartChecks(cfg *config.Config, log *slog.Logger) {
	for _, n := range normalizeNotes {
		log.Warn(n)
	}
	if cfg.Crio.CheckpointRestore.ContainerLevelEnabled == "none" {
		log.Info("Checkpoint/restore support disabled via configuration")
	} else if _, err := exec.LookPath("criu"); err != nil {
		log.Info("Checkpoint/restore support disabled: CRIU binary not found in $PATH")
	} else {
		log.Info("Checkpoint/restore support disabled: not provided by this runtime", "container_level_enabled", cfg.Crio.CheckpointRestore.ContainerLevelEnabled)
	}
}
