// Command crio is the CRI daemon and its operator subcommands.
package main

import (
	"fmt"
	"os"

	"github.com/containers/storage/pkg/reexec"
)

func main() {
	// containers/storage re-runs this binary to unpack layers in a chroot.
	if reexec.Init() {
		return
	}
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "crio: %v\n", err)
		os.Exit(1)
	}
}
