package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// Exec runs the command through the container manager and turns a non-zero
// exit code into the error type the library reports as NonZeroExitCode.
func (r *runtime) Exec(ctx context.Context, containerID string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan TerminalSize) error {
	c := r.getContainers()
	if c == nil {
		return notFound(containerID)
	}
	code, err := c.ExecStream(ctx, containerID, cmd, in, out, errOut, tty, resize)
	if err != nil {
		return r.unlessClientGone(ctx, "exec", containerID, err)
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// Attach connects the streams to the container's stdio.
func (r *runtime) Attach(ctx context.Context, containerID string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan TerminalSize) error {
	c := r.getContainers()
	if c == nil {
		return notFound(containerID)
	}
	return r.unlessClientGone(ctx, "attach", containerID, c.AttachStream(ctx, containerID, in, out, errOut, tty, resize))
}

// unlessClientGone drops an error that only says the client went away
// (the library would log it at error level): that is how a kubectl exec or
// attach usually ends, so it is logged at debug level.
func (r *runtime) unlessClientGone(ctx context.Context, what, containerID string, err error) error {
	if err == nil || !clientGone(ctx, err) {
		return err
	}
	if r.log != nil {
		r.log.DebugContext(ctx, "streaming client disconnected", "stream", what, "container", containerID, "error", err)
	}
	return nil
}

func clientGone(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, io.EOF) { // a write to the client's stream after it closed
		return true
	}
	if k := errdefs.Kind(err); k != nil && k != errdefs.ErrUnknown {
		return false // the daemon's own answer (NotFound, FailedPrecondition, ...)
	}
	msg := err.Error()
	for _, s := range []string{"broken pipe", "connection reset by peer", "use of closed network connection",
		"closed stream", "stream reset", "io: read/write on closed pipe"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func notFound(containerID string) error {
	return errdefs.NotFound("container %q not found", containerID)
}

// ExitError is a command's non-zero exit code. It satisfies
// k8s.io/utils/exec.ExitError, which the library turns into the protocol's
// NonZeroExitCode status.
type ExitError struct{ Code int }

func (e *ExitError) Error() string   { return "command exited with code " + strconv.Itoa(e.Code) }
func (e *ExitError) String() string  { return e.Error() }
func (e *ExitError) Exited() bool    { return true }
func (e *ExitError) ExitStatus() int { return e.Code }

// dialTimeout bounds a connect to a port inside the pod.
const dialTimeout = 10 * time.Second

// PortForward connects to localhost:port inside the pod's network namespace
// and copies both ways until both directions are done: the client's end of
// stream is passed on as a TCP half-close, and the pod side closing ends the
// session.
func (r *runtime) PortForward(ctx context.Context, podID string, port int32, stream io.ReadWriteCloser) error {
	if port <= 0 || port > 65535 {
		return fmt.Errorf("invalid port %d", port)
	}
	netns, err := r.pods(podID)
	if err != nil {
		return err
	}
	conn, err := dialInNetNS(ctx, netns, int(port))
	if err != nil {
		return err
	}
	defer conn.Close()
	r.log.Debug("port-forward connected", "pod", podID, "port", port)

	go func() {
		// The client finished sending: half-close so the pod's server sees EOF
		// and can still answer.
		_, _ = io.Copy(conn, stream)
		_ = conn.CloseWrite()
	}()
	podDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		podDone <- err
	}()
	select {
	case err = <-podDone:
	case <-ctx.Done():
		err = ctx.Err()
	}
	// The pod closed (or we are told to stop): closing conn ends the other copy
	// once the client side's next read returns; the library closes the stream.
	_ = conn.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("copy from pod port %d: %w", port, err)
	}
	return nil
}
