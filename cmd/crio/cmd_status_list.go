package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func statusPods(c *cli.Context) error {
	return withRuntime(c, func(ctx context.Context, rc runtimeapi.RuntimeServiceClient) error {
		resp, err := rc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err != nil {
			return err
		}
		fmt.Printf("%-13s %-16s %-30s %s\n", "POD ID", "STATE", "NAME", "NAMESPACE")
		for _, p := range resp.Items {
			fmt.Printf("%-13s %-16s %-30s %s\n", p.Id[:12], strings.TrimPrefix(p.State.String(), "SANDBOX_"), p.Metadata.GetName(), p.Metadata.GetNamespace())
		}
		return nil
	})
}

// statusContainers shows one container in CRI-O's format with --id, else
// lists them all.
func statusContainers(c *cli.Context) error {
	if id := c.String("id"); id != "" {
		return statusContainer(c, id)
	}
	return withRuntime(c, func(ctx context.Context, rc runtimeapi.RuntimeServiceClient) error {
		resp, err := rc.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		if err != nil {
			return err
		}
		fmt.Printf("%-13s %-10s %-30s %s\n", "CONTAINER ID", "STATE", "NAME", "POD ID")
		for _, ct := range resp.Containers {
			fmt.Printf("%-13s %-10s %-30s %s\n", ct.Id[:12], strings.TrimPrefix(ct.State.String(), "CONTAINER_"), ct.Metadata.GetName(), ct.PodSandboxId[:12])
		}
		return nil
	})
}

// statusProfile fetches a pprof page from the daemon's profile socket.
func statusProfile(page string) cli.ActionFunc {
	return func(c *cli.Context) error {
		sock := profileSocket(socketFlag(c))
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			},
		}}
		resp, err := client.Get("http://crio/debug/pprof/" + page)
		if err != nil {
			return fmt.Errorf("profile socket %s (start crio with --enable-profile-unix-socket): %w", sock, err)
		}
		defer resp.Body.Close()
		_, err = io.Copy(os.Stdout, resp.Body)
		return err
	}
}
