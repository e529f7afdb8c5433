package server

import (
	"bytes"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// validateRequest is the one layer that checks a request's own fields
// (required ids, malformed metadata, values out of range) before any
// handler runs; the interceptor calls it for every unary RPC. Domain
// packages check only what needs state: unknown ids, name clashes, a
// container that is not running. Requests without fields to check pass.
func validateRequest(req any) error {
	if err := checkNoNUL(req); err != nil {
		return err
	}
	switch r := req.(type) {
	case *runtimeapi.RunPodSandboxRequest:
		return validateRunPodSandbox(r)
	case *runtimeapi.StopPodSandboxRequest:
		return required("pod_sandbox_id", r.PodSandboxId)
	case *runtimeapi.RemovePodSandboxRequest:
		return required("pod_sandbox_id", r.PodSandboxId)
	case *runtimeapi.PodSandboxStatusRequest:
		return required("pod_sandbox_id", r.PodSandboxId)
	case *runtimeapi.PodSandboxStatsRequest:
		return required("pod_sandbox_id", r.PodSandboxId)
	case *runtimeapi.UpdatePodSandboxResourcesRequest:
		return validateUpdatePodSandboxResources(r)
	case *runtimeapi.PortForwardRequest:
		return validatePortForward(r)
	case *runtimeapi.CreateContainerRequest:
		return validateCreateContainer(r)
	case *runtimeapi.StopContainerRequest:
		return validateStopContainer(r)
	case *runtimeapi.ExecSyncRequest:
		return validateExecSync(r)
	case *runtimeapi.ExecRequest:
		return validateExec(r)
	case *runtimeapi.AttachRequest:
		return validateAttach(r)
	case *runtimeapi.UpdateContainerResourcesRequest:
		return validateUpdateContainerResources(r)
	}
	return validateByID(req)
}

// validateByID checks the requests whose only field to check is the id
// or the image they name.
func validateByID(req any) error {
	switch r := req.(type) {
	case *runtimeapi.StartContainerRequest:
		return required("container_id", r.ContainerId)
	case *runtimeapi.RemoveContainerRequest:
		return required("container_id", r.ContainerId)
	case *runtimeapi.ContainerStatusRequest:
		return required("container_id", r.ContainerId)
	case *runtimeapi.ContainerStatsRequest:
		return required("container_id", r.ContainerId)
	case *runtimeapi.ReopenContainerLogRequest:
		return required("container_id", r.ContainerId)
	case *runtimeapi.PullImageRequest:
		return required("image.image", r.GetImage().GetImage())
	case *runtimeapi.ImageStatusRequest:
		return required("image.image", r.GetImage().GetImage())
	case *runtimeapi.RemoveImageRequest:
		return required("image.image", r.GetImage().GetImage())
	}
	return nil
}

// required refuses an empty value of field.
func required(field, v string) error {
	if v == "" {
		return errdefs.Invalid(field, "%s is required", field)
	}
	return nil
}

// checkNoNUL refuses a request with a NUL byte in any string field: no
// CRI string may hold one, and such a string would be cut short where it
// reaches a file, a path or a process (argv, env). Bytes fields count too:
// requests carry only env values as bytes. The error names the
// field, e.g. "config.envs[0].value".
func checkNoNUL(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if path := nulField(m.ProtoReflect(), ""); path != "" {
		return errdefs.Invalid(path, "%s must not contain a NUL byte", path)
	}
	return nil
}

// nulField returns the path of the first string field holding a NUL.
func nulField(m protoreflect.Message, prefix string) (found string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.String()
				if strings.IndexByte(key, 0) >= 0 {
					found = name + " (a key)"
					return false
				}
				found = nulValue(fd.MapValue(), mv, fmt.Sprintf("%s[%q]", name, key))
				return found == ""
			})
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && found == ""; i++ {
				found = nulValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", name, i))
			}
		default:
			found = nulValue(fd, v, name)
		}
		return found == ""
	})
	return found
}

func nulValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path
		}
	case protoreflect.BytesKind: // env values (KeyValue.value) are bytes
		if bytes.IndexByte(v.Bytes(), 0) >= 0 {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return nulField(v.Message(), path+".")
	}
	return ""
}
