package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

func withRequestLogger(ctx context.Context, log *slog.Logger, method string) (context.Context, *slog.Logger) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	l := log.With("id", hex.EncodeToString(b[:]), "method", shortMethod(method))
	return logging.WithLogger(ctx, l), l
}

func shortMethod(full string) string { return full[strings.LastIndex(full, "/")+1:] }

// quiet methods are polled by the kubelet every few seconds: debug level.
func quiet(method string) bool {
	m := shortMethod(method)
	for _, p := range []string{"List", "Status", "Version", "ImageStatus", "ImageFsInfo", "ContainerStats", "PodSandboxStats", "RuntimeConfig", "ExecSync", "GetContainerEvents"} {
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
		if st.Code() == codes.Internal || st.Code() == codes.Unknown {
			level = slog.LevelWarn
		}
		l.Log(ctx, level, "request failed", "duration", time.Since(start), "code", st.Code().String(), "error", st.Message())
		return
	}
	l.Log(ctx, level, "request done", "duration", time.Since(start))
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
	case errors.Is(err, fs.ErrNotExist):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, fs.ErrExist):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, fs.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}
