package container

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cdi"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/internal/sandbox"
)

const nsField = "config.linux.security_context.namespace_options"

// validateCreate checks what CreateContainer can check without the pod.
func validateCreate(podID string, cfg *runtimeapi.ContainerConfig) error {
	switch {
	case podID == "":
		return status.Error(codes.InvalidArgument, "pod_sandbox_id is required")
	case cfg == nil:
		return status.Error(codes.InvalidArgument, "config is required")
	case cfg.GetMetadata() == nil:
		return status.Error(codes.InvalidArgument, "config.metadata.name is required")
	case cfg.GetImage().GetImage() == "":
		return status.Error(codes.InvalidArgument, "config.image.image is required")
	}
	if err := sandbox.ValidateName("config.metadata.name", cfg.Metadata.Name); err != nil {
		return err
	}
	if p := cfg.GetLogPath(); p != "" {
		if err := sandbox.ValidatePath("config.log_path", p); err != nil {
			return err
		}
	}
	if _, err := cdi.Devices(cfg); err != nil {
		return err
	}
	return sandbox.CheckNamespaceModes(nsField, cfg.GetLinux().GetSecurityContext().GetNamespaceOptions())
}

// checkInPod checks the container against its pod: a privileged container
// needs a privileged pod (as in CRI-O), since the pod's security context
// is what the kubelet admitted.
func checkInPod(sb *sandbox.Sandbox, cfg *runtimeapi.ContainerConfig) error {
	if cfg.GetLinux().GetSecurityContext().GetPrivileged() && !sb.Config.GetLinux().GetSecurityContext().GetPrivileged() {
		return status.Errorf(codes.InvalidArgument, "config.linux.security_context.privileged: pod sandbox %s is not privileged", sb.ID)
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
	field := nsField + ".target_id"
	if nso.GetTargetId() == "" {
		return "", status.Errorf(codes.InvalidArgument, "%s is required with pid mode TARGET", field)
	}
	target, err := m.Get(nso.GetTargetId())
	if err != nil {
		return "", status.Errorf(status.Code(err), "%s: %v", field, status.Convert(err).Message())
	}
	if target.PodID != sb.ID {
		return "", status.Errorf(codes.InvalidArgument, "%s: container %s is in another pod", field, target.ID)
	}
	target.mu.Lock()
	pid, start := target.Pid, target.PidStart
	target.mu.Unlock()
	// A pid alone names whatever process has it now: the recorded start
	// time proves it is still the target's (Create checks again once the
	// runtime has joined the namespace).
	if !target.Running() || pid <= 0 || !proc.Same(pid, start) {
		return "", status.Errorf(codes.FailedPrecondition, "%s: container %s is not running", field, target.ID)
	}
	return fmt.Sprintf("/proc/%d/ns/pid", pid), nil
}
