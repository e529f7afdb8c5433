package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/crio-runtime/crio/internal/errdefs"
)

func TestClientGoneIsNotAnError(t *testing.T) {
	bg := context.Background()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	for _, c := range []struct {
		ctx  context.Context
		err  error
		gone bool
	}{
		{bg, fmt.Errorf("attach output: %w", syscall.EPIPE), true},
		{bg, fmt.Errorf("attach output: %w", io.ErrClosedPipe), true},
		{bg, errors.New("attach output: write on closed stream 3"), true},
		{bg, fmt.Errorf("attach output: %w", io.EOF), true},
		{bg, errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"), true},
		{canceled, errors.New("anything"), true},
		{bg, errdefs.NotFound("container x not found"), false},
		{bg, errdefs.FailedPrecondition("container x is not running: broken pipe"), false},
		{bg, errors.New("runc exec failed"), false},
	} {
		if got := clientGone(c.ctx, c.err); got != c.gone {
			t.Errorf("clientGone(%v) = %v, want %v", c.err, got, c.gone)
		}
	}
	r := &runtime{}
	if err := r.unlessClientGone(bg, "attach", "x", fmt.Errorf("w: %w", syscall.EPIPE)); err != nil {
		t.Errorf("a client disconnect is reported as %v", err)
	}
}
