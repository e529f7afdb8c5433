package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestCheckNoNUL(t *testing.T) {
	ctr := func(mut func(*runtimeapi.ContainerConfig)) *runtimeapi.CreateContainerRequest {
		c := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Command: []string{"sh"},
			Envs: []*runtimeapi.KeyValue{{Key: "A", Value: []byte("b")}}, Labels: map[string]string{"k": "v"}}
		mut(c)
		return &runtimeapi.CreateContainerRequest{PodSandboxId: "p", Config: c}
	}
	if err := checkNoNUL(ctr(func(*runtimeapi.ContainerConfig) {})); err != nil {
		t.Fatalf("clean request: %v", err)
	}
	if err := checkNoNUL(&runtimeapi.ExecSyncRequest{ContainerId: "c", Cmd: []string{"echo", "a\nb"}}); err != nil {
		t.Errorf("a newline is not a NUL: %v", err)
	}
	for want, req := range map[string]any{
		"config.command[0]":          ctr(func(c *runtimeapi.ContainerConfig) { c.Command = []string{"s\x00h"} }),
		"config.envs[0].value":       ctr(func(c *runtimeapi.ContainerConfig) { c.Envs[0].Value = []byte("\x00") }),
		`config.labels["k"]`:         ctr(func(c *runtimeapi.ContainerConfig) { c.Labels["k"] = "v\x00" }),
		"config.annotations (a key)": ctr(func(c *runtimeapi.ContainerConfig) { c.Annotations = map[string]string{"a\x00": "v"} }),
		"config.log_path":            ctr(func(c *runtimeapi.ContainerConfig) { c.LogPath = "x\x00" }),
		"config.mounts[0].host_path": ctr(func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/b\x00"}}
		}),
		"cmd[1]":         &runtimeapi.ExecSyncRequest{ContainerId: "c", Cmd: []string{"echo", "\x00"}},
		"pod_sandbox_id": &runtimeapi.RemovePodSandboxRequest{PodSandboxId: "a\x00"},
		"config.dns_config.servers[0]": &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
			DnsConfig: &runtimeapi.DNSConfig{Servers: []string{"\x00"}}}},
	} {
		err := checkNoNUL(req)
		if status.Code(toStatus(err)) != codes.InvalidArgument || !strings.Contains(err.Error(), want+" must not") {
			t.Errorf("%s: %v", want, err)
		}
	}
}
