package server

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cdi"
	"github.com/crio-runtime/crio/internal/errdefs"
	ocispec "github.com/crio-runtime/crio/internal/spec"
)

const ctrNSField = "config.linux.security_context.namespace_options"

// validateCreateContainer checks (after the pod's id) what CreateContainer can check without
// the pod; the pod's own rules (privileged, a TARGET in the same pod) are
// the container manager's.
func validateCreateContainer(r *runtimeapi.CreateContainerRequest) error {
	cfg := r.Config
	switch {
	case cfg == nil:
		return required("config", "")
	case cfg.GetMetadata() == nil:
		return required("config.metadata.name", "")
	case cfg.GetImage().GetImage() == "":
		return required("config.image.image", "")
	}
	if err := validateName("config.metadata.name", cfg.Metadata.Name); err != nil {
		return err
	}
	if p := cfg.GetLogPath(); p != "" {
		if err := validatePath("config.log_path", p); err != nil {
			return err
		}
	}
	if _, err := cdi.Devices(cfg); err != nil {
		return err
	}
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if err := checkNamespaceModes(ctrNSField, nso); err != nil {
		return err
	}
	if nso.GetPid() == runtimeapi.NamespaceMode_TARGET && nso.GetTargetId() == "" {
		return invalid("%s.target_id is required with pid mode TARGET", ctrNSField)
	}
	return nil
}

func validateStopContainer(r *runtimeapi.StopContainerRequest) error {
	return notNegative("timeout", r.Timeout)
}

func notNegative(field string, v int64) error {
	if v < 0 {
		return errdefs.Invalid(field, "%s must not be negative", field)
	}
	return nil
}

func validateExecSync(r *runtimeapi.ExecSyncRequest) error {
	if err := notNegative("timeout", r.Timeout); err != nil {
		return err
	}
	if len(r.Cmd) == 0 {
		return required("cmd", "")
	}
	return nil
}

func validateExec(r *runtimeapi.ExecRequest) error {
	if len(r.Cmd) == 0 || r.Cmd[0] == "" {
		return required("cmd", "")
	}
	return checkStreamFlags(r.Stdin, r.Stdout, r.Stderr, r.Tty)
}

func validateAttach(r *runtimeapi.AttachRequest) error {
	return checkStreamFlags(r.Stdin, r.Stdout, r.Stderr, r.Tty)
}

// checkStreamFlags applies api.proto's rules for exec and attach streams.
func checkStreamFlags(stdin, stdout, stderr, tty bool) error {
	if !stdin && !stdout && !stderr {
		return invalid("one of stdin, stdout or stderr must be set")
	}
	if tty && stderr {
		// A tty merges stderr into stdout.
		return invalid("tty and stderr cannot both be set")
	}
	return nil
}

func validateUpdateContainerResources(r *runtimeapi.UpdateContainerResourcesRequest) error {
	return ocispec.ValidateResources(r.GetLinux(), "linux.")
}
