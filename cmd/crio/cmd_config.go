package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/pkg/config"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print the effective config as commented TOML (global flags and environment included)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "default", Usage: "print the defaults instead of the effective config"},
			&cli.BoolFlag{Name: "example", Hidden: true, Usage: "print the defaults of crio.conf.example (host-independent)"},
		},
		Action: leaf(func(c *cli.Context) error {
			def := config.Default()
			if c.Bool("example") {
				def = config.DefaultFor(config.ExampleHost)
				return def.Write(os.Stdout, def)
			}
			if c.Bool("default") {
				return def.Write(os.Stdout, def)
			}
			cfg, ignored, err := loadConfig(c)
			if err != nil {
				return err
			}
			if len(ignored) > 0 {
				fmt.Fprintf(os.Stderr, "crio: %s: %s\n", ignoredWarning, config.IgnoredSummary(ignored))
			}
			return cfg.Write(os.Stdout, def)
		}),
	}
}
