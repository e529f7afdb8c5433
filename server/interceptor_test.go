package server

import (
	"context"
	"fmt"
	"io/fs"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	ocispec "github.com/crio-runtime/crio/internal/spec"
)

func TestToStatus(t *testing.T) {
	if toStatus(nil) != nil {
		t.Fatal("nil error answers OK")
	}
	notFound := errdefs.NotFound("container %q not found", "x")
	for _, c := range []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"kind", notFound, codes.NotFound, `container "x" not found`},
		{"wrapped kind", fmt.Errorf("mounts[0].image: %w", notFound), codes.NotFound, `mounts[0].image: container "x" not found`},
		{"outer kind wins", errdefs.FailedPrecondition("target: %w", notFound), codes.FailedPrecondition, `target: container "x" not found`},
		{"kind beats its cause", errdefs.New(errdefs.ErrUnknown, "start: %w", fs.ErrNotExist), codes.Unknown, "start: file does not exist"},
		{"spec error", ocispec.ValidateResources(&runtimeapi.LinuxContainerResources{CpuShares: -1}, "linux."), codes.InvalidArgument, "invalid linux.cpu_shares: -1 is negative"},
		{"status", status.Error(codes.Aborted, "as is"), codes.Aborted, "as is"},
		{"wrapped status", fmt.Errorf("ctx: %w", status.Error(codes.Aborted, "inner")), codes.Aborted, "ctx: rpc error: code = Aborted desc = inner"},
		{"missing file", fmt.Errorf("read: %w", fs.ErrNotExist), codes.NotFound, "read: file does not exist"},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "wait: context deadline exceeded"},
		{"plain", fmt.Errorf("boom"), codes.Unknown, "boom"},
	} {
		st := status.Convert(toStatus(c.err))
		if st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s: %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	for kind, code := range kindCodes {
		if got := status.Code(toStatus(errdefs.New(kind, "x"))); got != code {
			t.Errorf("%v answers %v, want %v", kind, got, code)
		}
	}
}
