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
		Usage: "print version information",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "print as JSON"}},
		Action: func(c *cli.Context) error {
			info := version.Get()
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			fmt.Printf("Version:    %s\nGitCommit:  %s\nGoVersion:  %s\nCompiler:   %s\nPlatform:   %s\nBuildTags:  %s\n",
				info.Version, info.GitCommit, info.GoVersion, info.Compiler, info.Platform, info.BuildTags)
			return nil
		},
	}
}
