package server

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	ocispec "github.com/crio-runtime/crio/internal/spec"
)

func TestToStatus(t *testing.T) {
	if toStatus(nil) != nil {
		t.Fatal("nil error answers OK")
	}
	notFound := errdefs.NotFound("container %q not found", "x")
	for _, c := range []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"kind", notFound, codes.NotFound, `container "x" not found`},
		{"wrapped kind", fmt.Errorf("mounts[0].image: %w", notFound), codes.NotFound, `mounts[0].image: container "x" not found`},
		{"outer kind wins", errdefs.FailedPrecondition("target: %w", notFound), codes.FailedPrecondition, `target: container "x" not found`},
		{"kind beats its cause", errdefs.New(errdefs.ErrUnknown, "start: %w", fs.ErrNotExist), codes.Unknown, "start: file does not exist"},
		{"spec error", ocispec.ValidateResources(&runtimeapi.LinuxContainerResources{CpuShares: -1}, "linux."), codes.InvalidArgument, "invalid linux.cpu_shares: -1 is negative"},
		{"status", status.Error(codes.Aborted, "as is"), codes.Aborted, "as is"},
		{"wrapped status", fmt.Errorf("ctx: %w", status.Error(codes.Aborted, "inner")), codes.Aborted, "ctx: rpc error: code = Aborted desc = inner"},
		{"missing file", fmt.Errorf("read: %w", fs.ErrNotExist), codes.NotFound, "read: file does not exist"},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "wait: context deadline exceeded"},
		{"full disk", fmt.Errorf("persist: %w", &fs.PathError{Op: "write", Path: "/s/x", Err: syscall.ENOSPC}), codes.ResourceExhausted, "persist: write /s/x: no space left on device"},
		{"quota", fmt.Errorf("persist: %w", syscall.EDQUOT), codes.ResourceExhausted, "persist: disk quota exceeded"},
		{"plain", fmt.Errorf("boom"), codes.Unknown, "boom"},
	} {
		st := status.Convert(toStatus(c.err))
		if st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s: %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	for kind, code := range kindCodes {
		if got := status.Code(toStatus(errdefs.New(kind, "x"))); got != code {
			t.Errorf("%v answers %v, want %v", kind, got, code)
		}
	}
}

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
