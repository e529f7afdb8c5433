package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/internal/annotations"
	"github.com/crio-runtime/crio/internal/version"
	"github.com/crio-runtime/crio/pkg/config"
)

func newApp() *cli.App {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, EnvVars: []string{"CONTAINER_CONFIG"}, Value: config.DefaultConfigFile, Usage: "Path to the main config file; \"\" reads none."},
		&cli.StringFlag{Name: "config-dir", Aliases: []string{"d"}, EnvVars: []string{"CONTAINER_CONFIG_DIR"}, Value: config.DefaultConfigDir, Usage: "Directory of drop-in config files (*.conf, lexical order); \"\" reads none."},
		&cli.StringFlag{Name: "log-format", EnvVars: []string{"CONTAINER_LOG_FORMAT"}, Value: "text", Usage: "Log format: text or json."},
		&cli.StringFlag{Name: "log", EnvVars: []string{"CONTAINER_LOG"}, Usage: "Also write the daemon's own log to this file (appended)."},
	}
	// This host's defaults, so --help shows what the daemon will use.
	flags = append(flags, config.Flags(config.Default())...)
	return &cli.App{
		Name:                 "crio",
		Usage:                "a Kubernetes container runtime that speaks only CRI",
		Version:              version.Version,
		Flags:                flags,
		Action:               runDaemon,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands: append([]*cli.Command{
			configCommand(), versionCommand(), statusCommand(), checkCommand(), wipeCommand(), completionCommand(),
		}, docsCommands()...),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return err },
		ExitErrHandler: func(*cli.Context, error) {
			// main prints the one error line; urfave must not exit first.
		},
	}
}

// loadConfig builds the effective config: defaults, the main file, drop-ins,
// then flags and environment; per-instance paths nobody set follow the final
// root and runroot. It touches no state. The keys the files set that this
// runtime does not read are returned for the one warning.
func loadConfig(c *cli.Context) (*config.Config, []config.IgnoredKey, error) {
	mainFile := c.String("config")
	if c.IsSet("config") && mainFile != "" {
		if _, err := os.Stat(mainFile); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("config file %s does not exist", mainFile)
		}
	}
	files, err := config.Files(mainFile, c.String("config-dir"))
	if err != nil {
		return nil, nil, err
	}
	cfg, ignored, err := config.LoadFiles(files)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.ApplyFlags(c); err != nil {
		return nil, nil, err
	}
	cfg.FillInstancePaths()
	normalizeNotes = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	// Annotation names and workloads are checked where they are understood
	// (internal/annotations imports pkg/config, so not inside Validate).
	if err := annotations.ValidateConfig(cfg); err != nil {
		return nil, nil, err
	}
	return cfg, ignored, nil
}

// ignoredWarning is the one warning naming every key the config files set
// that this runtime does not read.
const ignoredWarning = "config keys not read by this runtime (ignored, as CRI-O does)"

func warnIgnored(log *slog.Logger, ignored []config.IgnoredKey) {
	if len(ignored) > 0 {
		log.Warn(ignoredWarning, "keys", config.IgnoredSummary(ignored))
	}
}
