package main

import (
	"errors"
	"fmt"
	"io/fs"
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
	flags = append(flags, config.Flags(config.DefaultFor(config.ExampleHost))...)
	return &cli.App{
		Name:                 "crio",
		Usage:                "a Kubernetes container runtime that speaks only CRI",
		Version:              version.Version,
		Flags:                flags,
		Action:               runDaemon,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands: []*cli.Command{
			configCommand(), versionCommand(), statusCommand(), completionCommand(),
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return err },
		ExitErrHandler: func(*cli.Context, error) {
			// main prints the one error line; urfave must not exit first.
		},
	}
}

// loadConfig builds the effective config: defaults, the main file, drop-ins,
// then flags and environment. It touches no state.
func loadConfig(c *cli.Context) (*config.Config, error) {
	mainFile := c.String("config")
	if c.IsSet("config") && mainFile != "" {
		if _, err := os.Stat(mainFile); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist", mainFile)
		}
	}
	files, err := config.Files(mainFile, c.String("config-dir"))
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(files)
	if err != nil {
		return nil, err
	}
	if err := cfg.ApplyFlags(c); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Annotation names and workloads are checked where they are understood
	// (internal/annotations imports pkg/config, so not inside Validate).
	if err := annotations.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
