// Command crio is the CRI daemon and its operator subcommands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "crio: %v\n", err)
		os.Exit(1)
	}
}
