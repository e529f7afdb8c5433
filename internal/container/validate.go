package container

import (
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/internal/sandbox"
)

// The checks of a CreateContainer request's fields live in server
// (validate_request_container.go); what stays here needs the pod or
// another container.

// checkInPod checks the container against its pod: a privileged container
// needs a privileged pod (as in CRI-O), since the pod's security context
// is what the kubelet admitted.
func checkInPod(sb *sandbox.Sandbox, cfg *runtimeapi.ContainerConfig) error {
	if cfg.GetLinux().GetSecurityContext().GetPrivileged() && !sb.Config.GetLinux().GetSecurityContext().GetPrivileged() {
		return errdefs.Invalid("", "config.linux.security_context.privileged: pod sandbox %s is not privileged", sb.ID)
	}
	return nil
}

// targetPIDNamespace resolves a TARGET PID namespace: the target must be
// a running container of the same pod; its namespace is reached through
// its pid while it runs.
func (m *Manager) targetPIDNamespace(sb *sandbox.Sandbox, cfg *runtimeapi.ContainerConfig) (string, error) {
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if nso.GetPid() != runtimeapi.NamespaceMode_TARGET {
		return "", nil
	}
	const field = "config.linux.security_context.namespace_options.target_id"
	target, err := m.Get(nso.GetTargetId())
	if err != nil {
		return "", errdefs.Wrapf(err, "%s", field)
	}
	if target.PodID != sb.ID {
		return "", errdefs.Invalid("", "%s: container %s is in another pod", field, target.ID)
	}
	target.mu.Lock()
	pid, start := target.Pid, target.PidStart
	target.mu.Unlock()
	// A pid alone names whatever process has it now: the recorded start
	// time proves it is still the target's (Create checks again once the
	// runtime has joined the namespace).
	if !target.Running() || pid <= 0 || !proc.Same(pid, start) {
		return "", errdefs.FailedPrecondition("%s: container %s is not running", field, target.ID)
	}
	return fmt.Sprintf("/proc/%d/ns/pid", pid), nil
}
