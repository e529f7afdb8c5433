package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// docsCommands are CRI-O's man and markdown (md) commands: the reference
// generated from the same commands and flags as --help.
func docsCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "man", Usage: "Generate the man page documentation.", Action: leaf(func(c *cli.Context) error {
			out, err := c.App.ToMan()
			if err != nil {
				return err
			}
			fmt.Print(out)
			return nil
		})},
		{Name: "markdown", Aliases: []string{"md"}, Usage: "Generate the markdown documentation.", Action: leaf(func(c *cli.Context) error {
			out, err := c.App.ToMarkdown()
			if err != nil {
				return err
			}
			fmt.Print(out)
			return nil
		})},
	}
}
