package sockmux

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// serve splits a fresh socket between a gRPC health server and an HTTP
// server answering "http".
func serve(t *testing.T, timeout time.Duration) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gl, hl := Split(l, timeout)
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, health.NewServer())
	go func() { _ = g.Serve(gl) }()
	h := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "http") })}
	go func() { _ = h.Serve(hl) }()
	t.Cleanup(func() { g.Stop(); _ = h.Close() })
	return sock
}

func httpGet(t *testing.T, sock string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://x/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grpcCheck(t *testing.T, sock string) {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("gRPC: %v", err)
	}
}

func TestSplitServesBoth(t *testing.T) {
	sock := serve(t, 5*time.Second)
	// A silent connection waits for its first bytes without holding up
	// the others.
	silent, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	grpcCheck(t, sock)
	if got := httpGet(t, sock); got != "http" {
		t.Errorf("HTTP answer %q", got)
	}
	grpcCheck(t, sock)
}

// TestSplitPartialFirstBytes: a preface that arrives in pieces still goes
// to gRPC, whole.
func TestSplitPartialFirstBytes(t *testing.T) {
	sock := serve(t, 5*time.Second)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(http2Preface[:1]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	// The rest of the preface and an empty SETTINGS frame: the server
	// answers with its own SETTINGS frame (type 4).
	if _, err := c.Write(append(append([]byte{}, http2Preface[1:]...), 0, 0, 0, 4, 0, 0, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 9)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatalf("no HTTP/2 answer: %v", err)
	}
	if hdr[3] != 4 {
		t.Errorf("first frame type %d, want SETTINGS", hdr[3])
	}
}

// TestSplitClosesSilent: a connection that sends nothing is closed after
// the timeout.
func TestSplitClosesSilent(t *testing.T) {
	sock := serve(t, 100*time.Millisecond)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent connection: read %v, want EOF (closed)", err)
	}
}

// TestSplitClose: closing one side stops both.
func TestSplitClose(t *testing.T) {
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	gl, hl := Split(l, time.Second)
	_ = gl.Close()
	if _, err := hl.Accept(); err == nil {
		t.Error("accept after close succeeded")
	}
	if _, err := l.Accept(); err == nil {
		t.Error("the socket stayed open")
	}
}

// flakyListener fails its first Accept with a temporary error (EMFILE).
type flakyListener struct {
	net.Listener
	failed bool
}

type tempErr struct{}

func (tempErr) Error() string   { return "too many open files" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

func (f *flakyListener) Accept() (net.Conn, error) {
	if !f.failed {
		f.failed = true
		return nil, tempErr{}
	}
	return f.Listener.Accept()
}

// TestSplitOutlivesTemporaryErrors: running out of descriptors for a
// moment does not close the CRI socket.
func TestSplitOutlivesTemporaryErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	_, hl := Split(&flakyListener{Listener: l}, time.Second)
	defer hl.Close()
	h := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "http") })}
	go func() { _ = h.Serve(hl) }()
	if got := httpGet(t, sock); got != "http" {
		t.Errorf("after a temporary error: %q", got)
	}
}
