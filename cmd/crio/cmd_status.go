package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/pkg/config"
)

// statusCommand has CRI-O's subcommands, aliases and output formats (read
// over the CRI, which carries the same facts), plus pods and the readiness
// view of a bare `crio status`.
func statusCommand() *cli.Command {
	socket := &cli.StringFlag{Name: "socket", Aliases: []string{"s"}, Value: config.DefaultSocket, TakesFile: true, Usage: "absolute path to the unix socket"}
	id := &cli.StringFlag{Name: "id", Aliases: []string{"i"}, Usage: "the container ID"}
	return &cli.Command{
		Name:         "status",
		Usage:        "Display status information",
		Flags:        []cli.Flag{socket},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return err },
		Subcommands: []*cli.Command{
			{Name: "config", Aliases: []string{"c"}, Usage: "Show the configuration of crio as a TOML string.", Flags: []cli.Flag{socket}, Action: leaf(statusConfig)},
			{Name: "containers", Aliases: []string{"container", "cs", "s"}, Usage: "Display detailed information about the provided container ID (without --id: list the containers).", Flags: []cli.Flag{socket, id}, Action: leaf(statusContainers)},
			{Name: "info", Aliases: []string{"i"}, Usage: "Retrieve generic information about crio, such as the cgroup and storage driver.", Flags: []cli.Flag{socket}, Action: leaf(statusInfo)},
			{Name: "pods", Aliases: []string{"p"}, Usage: "List the pods and their states.", Flags: []cli.Flag{socket}, Action: leaf(statusPods)},
			{Name: "goroutines", Aliases: []string{"g"}, Usage: "Display the goroutine stack (needs --enable-profile-unix-socket).", Flags: []cli.Flag{socket}, Action: leaf(statusProfile("goroutine?debug=2"))},
			{Name: "heap", Aliases: []string{"hp"}, Usage: "Display a heap profile summary (needs --enable-profile-unix-socket).", Flags: []cli.Flag{socket}, Action: leaf(statusProfile("heap?debug=1"))},
		},
		Action: leaf(statusReadiness),
	}
}

// leaf wraps a command's action so that a stray argument (an unknown
// subcommand) is an error, not ignored.
func leaf(fn cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := noArgs(c); err != nil {
			return err
		}
		return fn(c)
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

// daemonConfig is the running daemon's effective config.
func daemonConfig(c *cli.Context) (*config.Config, error) {
	resp, err := daemonStatus(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.GetInfo()["config"]), &m); err != nil {
		return nil, fmt.Errorf("daemon sent an unreadable config: %w", err)
	}
	config.StripCRIOStatusShape(m)
	cfg, err := config.FromMap(m)
	if err != nil {
		return nil, fmt.Errorf("daemon sent an unreadable config: %w", err)
	}
	return cfg, nil
}

// statusInfo prints CRI-O's `crio status info` lines. Containers get no
// user namespace mappings by default here, so both lists are empty.
func statusInfo(c *cli.Context) error {
	cfg, err := daemonConfig(c)
	if err != nil {
		return err
	}
	fmt.Printf("cgroup driver: %s\n", cfg.Crio.Runtime.CgroupManager)
	fmt.Printf("storage driver: %s\n", cfg.Crio.StorageDriver)
	fmt.Printf("storage graph root: %s\n", cfg.Crio.Root)
	fmt.Printf("storage image: %s\n", cfg.Crio.ImageStore)
	fmt.Printf("default GID mappings (format <container>:<host>:<size>):\n")
	fmt.Printf("default UID mappings (format <container>:<host>:<size>):\n")
	return nil
}

// statusReadiness (bare `crio status`) prints the info lines, then the
// runtime conditions and handlers.
func statusReadiness(c *cli.Context) error {
	if err := statusInfo(c); err != nil {
		return err
	}
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
	cfg, err := daemonConfig(c)
	if err != nil {
		return err
	}
	if keys := cfg.Unimplemented(config.Default(), config.DetectHost()); len(keys) > 0 {
		fmt.Printf("# Accepted for CRI-O compatibility but not implemented (no effect): %s\n", strings.Join(keys, ", "))
	}
	return cfg.Write(os.Stdout, config.Default())
}

// statusContainer prints CRI-O's `crio status containers --id` format.
func statusContainer(c *cli.Context, id string) error {
	cfg, err := daemonConfig(c)
	if err != nil {
		return err
	}
	return withRuntime(c, func(ctx context.Context, rc runtimeapi.RuntimeServiceClient) error {
		resp, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
		if err != nil {
			return err
		}
		st := resp.GetStatus()
		var info struct {
			Pid       int    `json:"pid"`
			SandboxID string `json:"sandboxID"`
		}
		_ = json.Unmarshal([]byte(resp.GetInfo()["info"]), &info)
		var ips []string
		if ps, err := rc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: info.SandboxID}); err == nil {
			if n := ps.GetStatus().GetNetwork(); n != nil && n.Ip != "" {
				ips = append(ips, n.Ip)
				for _, ip := range n.AdditionalIps {
					ips = append(ips, ip.Ip)
				}
			}
		}
		fmt.Printf("name: %s\n", st.GetMetadata().GetName())
		fmt.Printf("pid: %d\n", info.Pid)
		fmt.Printf("image: %s\n", st.GetImage().GetImage())
		fmt.Printf("image ref: %s\n", st.GetImageRef())
		fmt.Printf("created: %d\n", st.GetCreatedAt())
		printMap("labels", st.GetLabels())
		printMap("annotations", st.GetAnnotations())
		printMap("CRI-O annotations", nil)
		fmt.Printf("log path: %s\n", st.GetLogPath())
		fmt.Printf("graph root: %s\n", cfg.Crio.Root)
		fmt.Printf("sandbox: %s\n", info.SandboxID)
		fmt.Printf("ips: %s\n", strings.Join(ips, ", "))
		return nil
	})
}

func printMap(title string, m map[string]string) {
	fmt.Printf("%s:\n", title)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %s: %s\n", k, m[k])
	}
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
