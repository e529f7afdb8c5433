package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/pkg/config"
)

func statusCommand() *cli.Command {
	socket := &cli.StringFlag{Name: "socket", Aliases: []string{"s"}, Value: config.DefaultSocket, Usage: "the daemon's CRI socket"}
	return &cli.Command{
		Name:  "status",
		Usage: "ask the running daemon for its runtime status or config",
		Flags: []cli.Flag{socket},
		Subcommands: []*cli.Command{
			{Name: "info", Usage: "runtime and network readiness, handlers", Flags: []cli.Flag{socket}, Action: statusInfo},
			{Name: "config", Usage: "the daemon's effective config as TOML", Flags: []cli.Flag{socket}, Action: statusConfig},
			{Name: "pods", Usage: "the pods and their states", Flags: []cli.Flag{socket}, Action: statusPods},
			{Name: "containers", Usage: "the containers and their states", Flags: []cli.Flag{socket}, Action: statusContainers},
			{Name: "goroutines", Usage: "all goroutine stacks (needs --enable-profile-unix-socket)", Flags: []cli.Flag{socket}, Action: statusProfile("goroutine?debug=2")},
			{Name: "heap", Usage: "a heap profile summary (needs --enable-profile-unix-socket)", Flags: []cli.Flag{socket}, Action: statusProfile("heap?debug=1")},
		},
		Action: statusInfo,
	}
}

func daemonStatus(c *cli.Context) (resp *runtimeapi.StatusResponse, err error) {
	err = withRuntime(c, func(ctx context.Context, rc runtimeapi.RuntimeServiceClient) (err error) {
		resp, err = rc.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
		return err
	})
	return resp, err
}

// withRuntime calls fn with a CRI client of the daemon on --socket; errors
// name the socket.
func withRuntime(c *cli.Context, fn func(context.Context, runtimeapi.RuntimeServiceClient) error) error {
	socket := socketFlag(c)
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fn(ctx, runtimeapi.NewRuntimeServiceClient(conn)); err != nil {
		return fmt.Errorf("daemon on %s: %w", socket, err)
	}
	return nil
}

func statusInfo(c *cli.Context) error {
	resp, err := daemonStatus(c)
	if err != nil {
		return err
	}
	for _, cond := range resp.GetStatus().GetConditions() {
		fmt.Printf("%-14s %-5v %s %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
	}
	for _, h := range resp.GetRuntimeHandlers() {
		fmt.Printf("handler %q: recursive read-only mounts=%v user namespaces=%v\n", h.Name, h.GetFeatures().GetRecursiveReadOnlyMounts(), h.GetFeatures().GetUserNamespaces())
	}
	return nil
}

func statusConfig(c *cli.Context) error {
	resp, err := daemonStatus(c)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.GetInfo()["config"]), &m); err != nil {
		return fmt.Errorf("daemon sent an unreadable config: %w", err)
	}
	cfg, err := config.FromMap(m)
	if err != nil {
		return fmt.Errorf("daemon sent an unreadable config: %w", err)
	}
	if keys := cfg.Unimplemented(config.Default(), config.DetectHost()); len(keys) > 0 {
		fmt.Printf("# Accepted for CRI-O compatibility but not implemented (no effect): %s\n", strings.Join(keys, ", "))
	}
	return cfg.Write(os.Stdout, config.Default())
}

// socketFlag finds --socket wherever it was given: `crio status --socket X
// config` and `crio status config --socket X` both work.
func socketFlag(c *cli.Context) string {
	for _, cc := range c.Lineage() {
		if cc.IsSet("socket") {
			return cc.String("socket")
		}
	}
	return c.String("socket")
}
