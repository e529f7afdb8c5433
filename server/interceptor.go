package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
)

// Interceptors is the one place for cross-cutting work: a request id, a
// logger in the context, one log line per request, error to gRPC code
// mapping and panic recovery.
func Interceptors(log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx, l := withRequestLogger(ctx, log, info.FullMethod)
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				l.Error("panic in handler", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				resp, err = nil, status.Errorf(codes.Internal, "internal error in %s: %v", shortMethod(info.FullMethod), r)
			}
			err = toStatus(err)
			logRequest(ctx, l, info.FullMethod, start, err)
		}()
		if err := checkNoNUL(req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx, l := withRequestLogger(ss.Context(), log, info.FullMethod)
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				l.Error("panic in handler", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "internal error in %s: %v", shortMethod(info.FullMethod), r)
			}
			err = toStatus(err)
			logRequest(ctx, l, info.FullMethod, start, err)
		}()
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
	return unary, stream
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }

// withRequestLogger puts the request's logger in ctx: log with its id and
// method. Those attributes are formatted only when a record is logged, so
// a request that logs nothing (a status poll at the default level) pays
// for neither the id's text nor the handler's copy.
func withRequestLogger(ctx context.Context, log *slog.Logger, method string) (context.Context, *slog.Logger) {
	l := slog.New(&requestHandler{parent: log.Handler(), id: mrand.Uint64(), method: shortMethod(method)})
	return logging.WithLogger(ctx, l), l
}

// requestHandler adds a request's id and method to its parent's records,
// deriving that handler on the first record or derived handler.
type requestHandler struct {
	parent slog.Handler
	id     uint64 // 48 random bits: 12 hex digits in the log
	method string
	once   sync.Once
	h      slog.Handler
}

func (r *requestHandler) handler() slog.Handler {
	r.once.Do(func() {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], r.id)
		r.h = r.parent.WithAttrs([]slog.Attr{slog.String("id", hex.EncodeToString(b[2:])), slog.String("method", r.method)})
	})
	return r.h
}

// Enabled asks the parent: attributes do not change what is enabled.
func (r *requestHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.parent.Enabled(ctx, l)
}

func (r *requestHandler) Handle(ctx context.Context, rec slog.Record) error {
	return r.handler().Handle(ctx, rec)
}

func (r *requestHandler) WithAttrs(as []slog.Attr) slog.Handler { return r.handler().WithAttrs(as) }

func (r *requestHandler) WithGroup(name string) slog.Handler { return r.handler().WithGroup(name) }

func shortMethod(full string) string { return full[strings.LastIndex(full, "/")+1:] }

// quietPrefixes name the methods the kubelet polls every few seconds.
var quietPrefixes = []string{"List", "Status", "Version", "ImageStatus", "ImageFsInfo", "ContainerStats", "PodSandboxStats", "RuntimeConfig", "ExecSync", "GetContainerEvents"}

// quiet methods are polled by the kubelet every few seconds: debug level.
func quiet(method string) bool {
	m := shortMethod(method)
	for _, p := range quietPrefixes {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return strings.HasSuffix(m, "Status")
}

func logRequest(ctx context.Context, l *slog.Logger, method string, start time.Time, err error) {
	level := slog.LevelInfo
	if quiet(method) {
		level = slog.LevelDebug
	}
	if err != nil {
		st, _ := status.FromError(err)
		switch st.Code() {
		case codes.Internal, codes.Unknown, codes.ResourceExhausted: // the node's trouble, not the client's
			level = slog.LevelWarn
		}
		l.Log(ctx, level, "request failed", "duration", time.Since(start), "code", st.Code().String(), "error", st.Message())
		return
	}
	if l.Enabled(ctx, level) { // else the arguments would be boxed for nothing
		l.Log(ctx, level, "request done", "duration", time.Since(start))
	}
}

// kindCodes is the gRPC code of each domain error kind.
var kindCodes = map[error]codes.Code{
	errdefs.ErrNotFound:           codes.NotFound,
	errdefs.ErrAlreadyExists:      codes.AlreadyExists,
	errdefs.ErrInvalidArgument:    codes.InvalidArgument,
	errdefs.ErrFailedPrecondition: codes.FailedPrecondition,
	errdefs.ErrUnimplemented:      codes.Unimplemented,
	errdefs.ErrResourceExhausted:  codes.ResourceExhausted,
	errdefs.ErrUnavailable:        codes.Unavailable,
	errdefs.ErrInternal:           codes.Internal,
	errdefs.ErrDeadlineExceeded:   codes.DeadlineExceeded,
	errdefs.ErrCanceled:           codes.Canceled,
	errdefs.ErrPermissionDenied:   codes.PermissionDenied,
	errdefs.ErrUnauthenticated:    codes.Unauthenticated,
	errdefs.ErrUnknown:            codes.Unknown,
}

// isNotFound says whether err answers NotFound, whichever layer made it.
func isNotFound(err error) bool { return status.Code(toStatus(err)) == codes.NotFound }

// toStatus maps an error onto its gRPC code: the outermost domain kind
// (errdefs) decides, else a wrapped status, else well-known causes.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	if k := errdefs.Kind(err); k != nil {
		return status.Error(kindCodes[k], err.Error())
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return status.Error(se.GRPCStatus().Code(), err.Error())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errdefs.OutOfSpace(err):
		// grpc's code for "the entire file system is out of space"
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, fs.ErrNotExist):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, fs.ErrExist):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, fs.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// ObservabilityInterceptors count and time every RPC, and after each RPC
// that changes containers publish the resulting events before answering
// (so a create+remove between two polls still yields its events, in
// order). Chain them after Interceptors(log).
func (s *Server) ObservabilityInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	o := s.obs()
	mu, ms := o.Metrics().Interceptors()
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := mu(ctx, req, info, handler)
		if changesContainers[shortMethod(info.FullMethod)] {
			o.Events().Publish()
		}
		return resp, err
	}
	return unary, ms
}

// changesContainers are the RPCs after which container or pod events are due.
var changesContainers = map[string]bool{
	"CreateContainer": true, "StartContainer": true, "StopContainer": true, "RemoveContainer": true,
	"RunPodSandbox": true, "StopPodSandbox": true, "RemovePodSandbox": true,
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
		return errdefs.Invalid("", "%s must not contain a NUL byte", path)
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
