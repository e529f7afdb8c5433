package container

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

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

func TestPrivilegedNeedsPrivilegedPod(t *testing.T) {
	priv := ctrCfg(func(c *runtimeapi.ContainerConfig) { c.Linux.SecurityContext.Privileged = true })
	pod := func(privileged bool) *sandbox.Sandbox {
		return &sandbox.Sandbox{ID: "p", Config: &sandbox.PodConfig{PodSandboxConfig: &runtimeapi.PodSandboxConfig{
			Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{Privileged: privileged}}}}}
	}
	if err := checkInPod(pod(false), priv); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "privileged") {
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
		if _, err := m.targetPIDNamespace(sb, cfg); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
