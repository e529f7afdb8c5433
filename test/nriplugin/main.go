// Command nriplugin is a small NRI plugin for the integration tests, run
// by the daemon as a pre-installed plugin (from nri_plugin_dir). It adds
// NRI_PREINSTALLED=<its config> to the environment of every container, so
// a test sees both that it ran and that its config file was read.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
)

type plugin struct{ value string }

func (p *plugin) Configure(_ context.Context, config, _, _ string) (api.EventMask, error) {
	p.value = strings.TrimSpace(config)
	return api.MustParseEventMask("CreateContainer"), nil
}

func (p *plugin) CreateContainer(_ context.Context, _ *api.PodSandbox, _ *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	a := &api.ContainerAdjustment{}
	a.AddEnv("NRI_PREINSTALLED", p.value)
	return a, nil, nil
}

func main() {
	s, err := stub.New(&plugin{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := s.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
