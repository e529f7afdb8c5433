package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/internal/version"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "display detailed version information",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "print JSON instead of text"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print verbose information (for example all Go dependencies)"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			info := version.Get(c.Bool("verbose"))
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			fmt.Print(info.String())
			return nil
		},
	}
}

// noArgs refuses positional arguments: an unknown subcommand of a command
// without subcommands must not run the command.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return fmt.Errorf("unknown command %q for %q (see crio %s --help)", c.Args().First(), c.Command.FullName(), c.Command.Name)
	}
	return nil
}
