// Command crio is the CRI daemon and its operator subcommands.
package main

import (
	"fmt"
	"os"

	"github.com/containers/storage/pkg/reexec"

	"github.com/crio-runtime/crio/internal/pid1"
)

func main() {
	// containers/storage re-runs this binary to unpack layers in a chroot.
	if reexec.Init() {
		return
	}
	// The first process of a PID namespace inherits every orphan: stay
	// behind as the init that reaps them and run the daemon as PID 2.
	if os.Getpid() == 1 {
		code, err := pid1.Run(pid1.Self(), os.Args)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crio: as PID 1: %v\n", err)
		}
		os.Exit(code)
	}
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "crio: %v\n", err)
		os.Exit(1)
	}
}
