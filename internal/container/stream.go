package container

import (
	"context"
	"io"
	"path/filepath"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/streaming"
	"github.com/crio-runtime/crio/pkg/monitor"
)

var _ streaming.Containers = (*Manager)(nil)

// CheckRunning resolves id and fails unless the container runs.
func (m *Manager) CheckRunning(id string) error {
	c, err := m.Status(id)
	if err != nil {
		return err
	}
	if !c.Running() {
		return errdefs.FailedPrecondition("container %s is not running", c.ID)
	}
	return nil
}

// ExecStream runs an interactive exec for the streaming server.
func (m *Manager) ExecStream(ctx context.Context, id string, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan streaming.TerminalSize) (int, error) {
	c, proc, err := m.execProcess(id, cmd, tty)
	if err != nil {
		return -1, err
	}
	rt, err := m.Runtime(c.Handler)
	if err != nil {
		return -1, err
	}
	s := oci.Streams{Stdin: stdin, Resize: convertSizes(ctx, resize, func(z streaming.TerminalSize) oci.Size { return oci.Size{Rows: z.Height, Cols: z.Width} })}
	if stdout != nil {
		s.Stdout = stdout
	}
	if stderr != nil {
		s.Stderr = stderr
	}
	return rt.ExecStream(ctx, c.ID, c.Bundle, proc, s)
}

// AttachStream connects the client to the container's monitor.
func (m *Manager) AttachStream(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan streaming.TerminalSize) error {
	c, err := m.Status(id)
	if err != nil {
		return err
	}
	if !c.Running() {
		return errdefs.FailedPrecondition("container %s is not running", c.ID)
	}
	var out, errOut io.Writer = io.Discard, io.Discard
	if stdout != nil {
		out = stdout
	}
	if stderr != nil {
		errOut = stderr
	}
	sizes := convertSizes(ctx, resize, func(z streaming.TerminalSize) monitor.Size { return monitor.Size{Rows: z.Height, Cols: z.Width} })
	return monitor.Attach(ctx, filepath.Join(c.AttachDir, "attach"), stdin, out, errOut, sizes)
}

func convertSizes[T any](ctx context.Context, in <-chan streaming.TerminalSize, conv func(streaming.TerminalSize) T) <-chan T {
	if in == nil {
		return nil
	}
	out := make(chan T, 1)
	go func() {
		defer close(out)
		for {
			select {
			case z, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- conv(z):
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
