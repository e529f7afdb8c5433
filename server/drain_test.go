package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Drain ends the waiting methods' contexts with Unavailable and leaves the
// others alone; a request that finished is answered as it finished.
func TestDrainEndsOnlyWaitingMethods(t *testing.T) {
	s := &Server{}
	unary, _ := s.DrainInterceptors()
	started := make(chan struct{})
	waiting := make(chan error, 1)
	go func() {
		_, err := unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/StopContainer"},
			func(ctx context.Context, _ any) (any, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			})
		waiting <- toStatus(err)
	}()
	<-started
	s.Drain()
	if err := <-waiting; status.Code(err) != codes.Unavailable {
		t.Errorf("waiting method after Drain: %v, want Unavailable", err)
	}
	resp, err := unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/CreateContainer"},
		func(ctx context.Context, _ any) (any, error) { return "done", ctx.Err() })
	if resp != "done" || err != nil {
		t.Errorf("other method after Drain: %v %v, want its own answer", resp, err)
	}
	resp, err = unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/ExecSync"},
		func(ctx context.Context, _ any) (any, error) { return "exited", nil })
	if resp != "exited" || err != nil {
		t.Errorf("finished waiting method: %v %v, want its answer", resp, err)
	}
}
