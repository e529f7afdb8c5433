package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// registerValidated registers a CRI service whose unary RPCs check their
// request (validateRequest) before the handler runs, after every
// interceptor: the metrics count a refused request as they count any
// other failed one.
func registerValidated(g *grpc.Server, desc *grpc.ServiceDesc, impl any) {
	d := *desc
	d.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, md := range desc.Methods {
		h := md.Handler
		md.Handler = func(srv any, ctx context.Context, dec func(any) error, next grpc.UnaryServerInterceptor) (any, error) {
			return h(srv, ctx, dec, validating(next))
		}
		d.Methods[i] = md
	}
	g.RegisterService(&d, impl)
}

// validating runs validateRequest innermost in the interceptor chain.
func validating(chain grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		checked := func(ctx context.Context, req any) (any, error) {
			if err := validateRequest(req); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}
		if chain == nil {
			return checked(ctx, req)
		}
		return chain(ctx, req, info, checked)
	}
}

// validateRequest is the one layer that checks a request's own fields
// (required ids, malformed metadata, values out of range) before its
// handler runs (the interceptor has refused NUL bytes already). Domain
// packages check only what needs state: unknown ids, name clashes, a
// container that is not running.
func validateRequest(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	name := m.ProtoReflect().Descriptor().FullName()
	if unimplemented[name] {
		return nil
	}
	if err := checkRequiredIDs(m.ProtoReflect()); err != nil {
		return err
	}
	if v := validators[name]; v != nil {
		return v(m)
	}
	return nil
}

// validators has the validate function of each request type with more to
// check than the ids it names.
var validators = byType(
	validator(validateRunPodSandbox), validator(validateUpdatePodSandboxResources),
	validator(validatePortForward), validator(validateCreateContainer),
	validator(validateStopContainer), validator(validateExecSync), validator(validateExec),
	validator(validateAttach), validator(validateUpdateContainerResources),
)

type typedValidator struct {
	name protoreflect.FullName
	fn   func(proto.Message) error
}

// validator adapts a validate function of one request type.
func validator[T proto.Message](fn func(T) error) typedValidator {
	var zero T // a typed nil: enough for its descriptor
	return typedValidator{zero.ProtoReflect().Descriptor().FullName(), func(m proto.Message) error { return fn(m.(T)) }}
}

func byType(vs ...typedValidator) map[protoreflect.FullName]func(proto.Message) error {
	out := make(map[protoreflect.FullName]func(proto.Message) error, len(vs))
	for _, v := range vs {
		out[v.name] = v.fn
	}
	return out
}

// unimplemented RPCs answer Unimplemented (the embedded defaults) whatever
// their request carries.
var unimplemented = map[protoreflect.FullName]bool{
	"runtime.v1.CheckpointContainerRequest": true,
	"runtime.v1.CheckpointPodRequest":       true,
	"runtime.v1.RestorePodRequest":          true,
}

// idFields name what a request acts on: required wherever a request has
// one at its top level, as is image.image where it names an image.
var idFields = []protoreflect.Name{"pod_sandbox_id", "container_id"}

func checkRequiredIDs(m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for _, name := range idFields {
		if fd := fields.ByName(name); fd != nil && fd.Kind() == protoreflect.StringKind && m.Get(fd).String() == "" {
			return required(string(name), "")
		}
	}
	fd := fields.ByName("image")
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != imageSpec.FullName() {
		return nil
	}
	return required("image.image", m.Get(fd).Message().Get(imageSpec.Fields().ByName("image")).String())
}

var imageSpec = (*runtimeapi.ImageSpec)(nil).ProtoReflect().Descriptor()

// required refuses an empty value of field.
func required(field, v string) error {
	if v == "" {
		return errdefs.Invalid(field, "%s is required", field)
	}
	return nil
}
