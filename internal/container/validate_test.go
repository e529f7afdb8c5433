package container

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/state"
)

func ctrCfg(mut func(*runtimeapi.ContainerConfig)) *runtimeapi.ContainerConfig {
	c := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: "busybox"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}},
	}
	mut(c)
	return c
}

func TestValidateCreate(t *testing.T) {
	for _, ok := range []*runtimeapi.ContainerConfig{
		ctrCfg(func(*runtimeapi.ContainerConfig) {}),
		ctrCfg(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "Side_Car;v2" }),
	} {
		if err := validateCreate("pod", ok); err != nil {
			t.Errorf("%v: %v", ok.Metadata.Name, err)
		}
	}
	for name, tc := range map[string]struct {
		cfg  *runtimeapi.ContainerConfig
		code codes.Code
		want string
	}{
		"long name": {ctrCfg(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = strings.Repeat("c", 254) }), codes.InvalidArgument, "metadata.name"},
		"newline":   {ctrCfg(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "c\n" }), codes.InvalidArgument, "metadata.name"},
		"log path":  {ctrCfg(func(c *runtimeapi.ContainerConfig) { c.LogPath = "a/../../b" }), codes.InvalidArgument, "log_path"},
		"CDI name": {ctrCfg(func(c *runtimeapi.ContainerConfig) {
			c.CDIDevices = []*runtimeapi.CDIDevice{{Name: "a.com/x=1"}, {Name: "gpu0"}}
		}), codes.InvalidArgument, "config.cdi_devices[1].name: \"gpu0\""},
		"ipc mode 99": {ctrCfg(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Ipc: 99}
		}), codes.InvalidArgument, "namespace_options.ipc"},
	} {
		err := validateCreate("pod", tc.cfg)
		if codeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %v naming %q", name, err, tc.code, tc.want)
		}
	}
}

// codeOf is the gRPC code err gets: typed domain errors are mapped by the
// server, the others carry their status.
func codeOf(err error) codes.Code {
	if errors.Is(err, errdefs.ErrInvalidArgument) {
		return codes.InvalidArgument
	}
	return status.Code(err)
}

func TestPrivilegedNeedsPrivilegedPod(t *testing.T) {
	priv := ctrCfg(func(c *runtimeapi.ContainerConfig) { c.Linux.SecurityContext.Privileged = true })
	pod := func(privileged bool) *sandbox.Sandbox {
		return &sandbox.Sandbox{ID: "p", Config: &sandbox.PodConfig{PodSandboxConfig: &runtimeapi.PodSandboxConfig{
			Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{Privileged: privileged}}}}}
	}
	if err := checkInPod(pod(false), priv); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "privileged") {
		t.Errorf("privileged in an unprivileged pod: %v", err)
	}
	if err := checkInPod(pod(true), priv); err != nil {
		t.Errorf("privileged in a privileged pod: %v", err)
	}
	if err := checkInPod(pod(false), ctrCfg(func(*runtimeapi.ContainerConfig) {})); err != nil {
		t.Errorf("plain container: %v", err)
	}
}

// A TARGET PID namespace is reached through the target's pid only while
// the pid still names the target's process.
func TestTargetPIDNamespaceNeedsTheSameProcess(t *testing.T) {
	start, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	m := &Manager{index: state.NewIndex[*Container]()}
	sb := &sandbox.Sandbox{ID: "p"}
	target := &Container{Record: Record{ID: "t", PodID: "p", Started: true, Pid: os.Getpid(), PidStart: start}}
	m.index.Add(target.ID, target)
	cfg := ctrCfg(func(c *runtimeapi.ContainerConfig) {
		c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "t"}
	})
	if p, err := m.targetPIDNamespace(sb, cfg); err != nil || p != fmt.Sprintf("/proc/%d/ns/pid", os.Getpid()) {
		t.Errorf("running target: %q %v", p, err)
	}
	for name, pidStart := range map[string]uint64{"pid reused": start + 1, "start time unknown": 0} {
		target.PidStart = pidStart
		if _, err := m.targetPIDNamespace(sb, cfg); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("%s: %v", name, err)
		}
	}
}
