package streaming_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/streaming"
	"github.com/crio-runtime/crio/internal/streaming/client"
)

// fakeContainers echoes stdin to stdout and exits with the code in cmd[0].
type fakeContainers struct{}

func (fakeContainers) ExecStream(ctx context.Context, id string, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan streaming.TerminalSize) (int, error) {
	if id != "c1" {
		return -1, errdefs.NotFound("container %q not found", id)
	}
	if stdin != nil && stdout != nil {
		if _, err := io.Copy(stdout, stdin); err != nil {
			return -1, err
		}
	}
	if stderr != nil {
		fmt.Fprint(stderr, "to stderr")
	}
	return strconv.Atoi(cmd[0])
}

func (fakeContainers) AttachStream(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan streaming.TerminalSize) error {
	if tty && resize != nil {
		sz := <-resize
		fmt.Fprintf(stdout, "%dx%d", sz.Width, sz.Height)
	}
	return nil
}

func (fakeContainers) CheckRunning(id string) error { return nil }

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func startServer(t *testing.T, cfg streaming.Config, pods streaming.PodNetNS) *streaming.Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := streaming.New(cfg, pods, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	s.SetContainers(fakeContainers{})
	served := make(chan struct{})
	go func() { _ = s.Serve(); close(served) }()
	t.Cleanup(func() { s.Close(); <-served })
	return s
}

func hostPod(id string) (string, error) {
	if id != "pod" {
		return "", errdefs.NotFound("pod %q not found", id)
	}
	return "", nil
}

// echoServer answers each connection with "hello " + everything it read,
// after the client half-closes.
func echoServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				_, _ = c.Write(append([]byte("hello "), b...))
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPortForwardConcurrentAndHalfClose(t *testing.T) {
	s := startServer(t, streaming.Config{}, hostPod)
	port := echoServer(t)
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "pod"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pf, err := client.DialPortForward(ctx, resp.Url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := pf.Open(port)
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			msg := strings.Repeat(strconv.Itoa(i), 100000)
			if _, err := st.Write([]byte(msg)); err != nil {
				t.Error(err)
				return
			}
			_ = st.CloseWrite()
			got, err := io.ReadAll(st)
			if err != nil || string(got) != "hello "+msg {
				t.Errorf("connection %d: %d bytes, %v", i, len(got), err)
			}
			if err := st.Err(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	// The token was used: the same URL is refused.
	if _, err := client.DialPortForward(ctx, resp.Url, nil); err == nil {
		t.Error("reused port-forward URL was accepted")
	}
}

func TestPortForwardErrors(t *testing.T) {
	s := startServer(t, streaming.Config{}, hostPod)
	for _, tc := range []struct {
		name, pod string
		port      int
		want      string
	}{
		{"unknown pod", "nope", 1, "not found"},
		{"closed port", "pod", closedPort(t), "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: tc.pod})
			if err != nil {
				t.Fatal(err)
			}
			pf, err := client.DialPortForward(context.Background(), resp.Url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			st, err := pf.Open(tc.port)
			if err == nil {
				// The refusal usually comes on the open stream; when the
				// server is quicker it comes from Open itself.
				defer st.Close()
				_, _ = io.ReadAll(st)
				err = st.Err()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestExecExitCodeAndStreams(t *testing.T) {
	s := startServer(t, streaming.Config{}, hostPod)
	for _, tc := range []struct {
		code  int
		stdin string
	}{{0, "round trip"}, {3, "x"}, {255, ""}} {
		resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{strconv.Itoa(tc.code)}, Stdin: true, Stdout: true, Stderr: true})
		if err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code, err := client.Run(context.Background(), resp.Url, nil, client.Options{
			Stdin: strings.NewReader(tc.stdin), Stdout: &out, Stderr: &errOut,
		})
		if err != nil || code != tc.code || out.String() != tc.stdin || errOut.String() != "to stderr" {
			t.Errorf("exit %d: got code %d err %v stdout %q stderr %q", tc.code, code, err, out.String(), errOut.String())
		}
		if _, err := client.Run(context.Background(), resp.Url, nil, client.Options{Stdout: &out}); err == nil {
			t.Error("reused exec URL was accepted")
		}
	}
}

func TestExecUnknownContainerIsAnError(t *testing.T) {
	s := startServer(t, streaming.Config{}, hostPod)
	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "gone", Cmd: []string{"0"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Run(context.Background(), resp.Url, nil, client.Options{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("err = %v", err)
	}
}

func TestAttachResize(t *testing.T) {
	s := startServer(t, streaming.Config{}, hostPod)
	resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c1", Stdout: true, Tty: true})
	if err != nil {
		t.Fatal(err)
	}
	sizes := make(chan client.TerminalSize, 1)
	sizes <- client.TerminalSize{Width: 80, Height: 24}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, err := client.Run(ctx, resp.Url, nil, client.Options{Stdout: &out, TTY: true, Resize: sizes})
	if err != nil || code != 0 || out.String() != "80x24" {
		t.Errorf("code %d err %v out %q", code, err, out.String())
	}
}

func TestBadRequestsRefusedByLibrary(t *testing.T) {
	s := startServer(t, streaming.Config{}, hostPod)
	_, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{"0"}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("exec without streams: %v", err)
	}
	_, err = s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c1", Tty: true, Stderr: true})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("attach tty+stderr: %v", err)
	}
}

func TestCloseEndsOpenStreams(t *testing.T) {
	s, err := streaming.New(streaming.Config{Addr: "127.0.0.1:0"}, hostPod, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c) // never answers
		}
	}()
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "pod"})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := client.DialPortForward(context.Background(), resp.Url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	st, err := pf.Open(l.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := io.ReadAll(st); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("read after close: %v", err)
	}
}
