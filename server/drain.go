package server

import (
	"context"
	"errors"
	"sync"

	"google.golang.org/grpc"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// errShuttingDown ends the requests that only wait when the daemon stops:
// the client sees Unavailable and retries once crio is back.
var errShuttingDown = errdefs.Unavailable("crio is shutting down; retry when it is back")

// waitingMethods only wait on something outside the daemon (a container's
// stop grace period, an exec'd command, the next event) and leave nothing
// half done when abandoned. A shutdown ends them at once instead of
// letting them hold every restart for the whole grace (a 30 s stop, an
// open `crictl events` or evented PLEG stream). Everything else gets the
// grace to finish.
var waitingMethods = map[string]bool{
	"/runtime.v1.RuntimeService/StopContainer":      true,
	"/runtime.v1.RuntimeService/ExecSync":           true,
	"/runtime.v1.RuntimeService/GetContainerEvents": true,
}

// drainer is cancelled when the daemon starts shutting down.
type drainer struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func (d *drainer) context() context.Context {
	d.once.Do(func() { d.ctx, d.cancel = context.WithCancel(context.Background()) })
	return d.ctx
}

// Drain ends the waiting requests (see waitingMethods); call it before
// the gRPC server's graceful stop.
func (s *Server) Drain() {
	s.drain.context()
	s.drain.cancel()
}

// waitCtx gives a waiting request a context that also ends at Drain.
func (s *Server) waitCtx(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.drain.context(), func() { cancel(errShuttingDown) })
	return ctx, func() { stop(); cancel(nil) }
}

// drained replaces the error of a request that Drain ended.
func drained(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errShuttingDown) {
		return errShuttingDown
	}
	return err
}

// DrainInterceptors apply Drain to the waiting methods; chain them last.
func (s *Server) DrainInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !waitingMethods[info.FullMethod] {
			return handler(ctx, req)
		}
		ctx, done := s.waitCtx(ctx)
		defer done()
		resp, err := handler(ctx, req)
		if err != nil {
			err = drained(ctx, err)
		}
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !waitingMethods[info.FullMethod] {
			return handler(srv, ss)
		}
		ctx, done := s.waitCtx(ss.Context())
		defer done()
		// A stream that ends because of Drain says so, not a clean EOF.
		return drained(ctx, handler(srv, &ctxStream{ServerStream: ss, ctx: ctx}))
	}
	return unary, stream
}
