package server

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/metrics"
	"github.com/crio-runtime/crio/internal/syncbuf"
)

// versionOnly answers Version; every other RPC is unimplemented.
type versionOnly struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	logged bool // Version logs a debug line
}

func (v *versionOnly) Version(ctx context.Context, _ *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	if v.logged {
		logging.From(ctx).Debug("in the handler")
	}
	return &runtimeapi.VersionResponse{RuntimeName: "test"}, nil
}

// chainServer serves impl as the daemon does: TransportOptions, the
// daemon's interceptors then the metrics', requests validated innermost.
// It returns a client whose connection reports the server's frames.
func chainServer(t *testing.T, log *slog.Logger, m *metrics.Metrics, impl runtimeapi.RuntimeServiceServer) (runtimeapi.RuntimeServiceClient, *frameCounter) {
	lis := bufconn.Listen(1 << 20)
	unary, stream := Interceptors(log)
	mu, ms := m.Interceptors()
	g := grpc.NewServer(append(TransportOptions(), grpc.ChainUnaryInterceptor(unary, mu), grpc.ChainStreamInterceptor(stream, ms))...)
	registerValidated(g, &runtimeapi.RuntimeService_ServiceDesc, impl)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	fc := &frameCounter{}
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := lis.DialContext(ctx)
			return &countingConn{Conn: c, fc: fc}, err
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn), fc
}

// TestNoServerPingPerCall: the server sends the client no PING of its own
// around a call (grpc-go's bandwidth estimator would, after the first
// request it reads): only answers and acks.
func TestNoServerPingPerCall(t *testing.T) {
	c, fc := chainServer(t, slog.New(slog.DiscardHandler), metrics.New(metrics.Options{}), &versionOnly{})
	for range 3 {
		if _, err := c.Version(context.Background(), &runtimeapi.VersionRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := fc.pings(); n != 0 {
		t.Errorf("the server sent %d PING frames of its own over 3 calls, want 0", n)
	}
}

// TestOperationMetricsPerMethod: every call is counted under its method,
// a refused request (validation) as a failed one with its code, and a
// method that never failed has no error series.
func TestOperationMetricsPerMethod(t *testing.T) {
	m := metrics.New(metrics.Options{CodeOf: func(err error) codes.Code { return status.Code(toStatus(err)) }}) // as the daemon's
	c, _ := chainServer(t, slog.New(slog.DiscardHandler), m, &versionOnly{})
	ctx := context.Background()
	for range 2 {
		if _, err := c.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := c.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{}); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("ContainerStatus without an id: %v, want InvalidArgument", err)
		}
	}
	want := map[string]float64{
		`operations_total{operation="Version"}`:                                                2,
		`operations_total{operation="ContainerStatus"}`:                                        3,
		`operations_errors_total{operation="ContainerStatus"}`:                                 3,
		`operations_errors_by_code_total{error="InvalidArgument",operation="ContainerStatus"}`: 3,
		`operations_latency_seconds_total_count{operation="Version"}`:                          2,
	}
	got := gathered(t, m)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got[`operations_errors_total{operation="Version"}`]; ok {
		t.Error("Version never failed but has an error series")
	}
}

// TestRequestLoggerIsLazy: a request that logs nothing never derives the
// request's handler (its id and method are not formatted); one that logs
// carries both.
func TestRequestLoggerIsLazy(t *testing.T) {
	var buf syncbuf.Buffer
	lv := new(slog.LevelVar)
	h := &derivations{Handler: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: lv})}
	impl := &versionOnly{}
	c, _ := chainServer(t, slog.New(h), metrics.New(metrics.Options{}), impl)
	if _, err := c.Version(context.Background(), &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := h.count(); n != 0 || buf.String() != "" {
		t.Fatalf("a quiet request at info level derived %d handlers and logged %q", n, buf.String())
	}
	lv.Set(slog.LevelDebug)
	impl.logged = true
	if _, err := c.Version(context.Background(), &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	line := regexp.MustCompile(`msg="in the handler" id=([0-9a-f]{12}) method=Version\n`).FindStringSubmatch(out)
	if line == nil || !strings.Contains(out, `msg="request done" id=`+line[1]+` method=Version duration=`) {
		t.Fatalf("want the handler's line and the request's with one id and the method:\n%s", out)
	}
	if n := h.count(); n != 1 {
		t.Errorf("one logging request derived %d handlers, want 1", n)
	}
}

// derivations counts the handlers derived from it.
type derivations struct {
	slog.Handler
	mu sync.Mutex
	n  int
}

func (d *derivations) WithAttrs(as []slog.Attr) slog.Handler {
	d.mu.Lock()
	d.n++
	d.mu.Unlock()
	return d.Handler.WithAttrs(as)
}

func (d *derivations) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// gathered flattens m's counters and summary counts as
// `name{label="v",...}` (without the common prefix) -> value.
func gathered(t *testing.T, m *metrics.Metrics) map[string]float64 {
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		name := strings.TrimPrefix(mf.GetName(), "container_runtime_crio_")
		for _, mt := range mf.GetMetric() {
			parts := []string{}
			for _, l := range mt.GetLabel() {
				parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
			}
			labels := "{" + strings.Join(parts, ",") + "}"
			switch {
			case mt.Counter != nil:
				out[name+labels] = mt.GetCounter().GetValue()
			case mt.Summary != nil:
				out[name+"_count"+labels] = float64(mt.GetSummary().GetSampleCount())
			}
		}
	}
	return out
}

// frameCounter parses the HTTP/2 frames a server writes to its client.
type frameCounter struct {
	mu      sync.Mutex
	buf     []byte
	nonAcks int // PING frames without the ACK flag
}

func (f *frameCounter) feed(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf, p...)
	for len(f.buf) >= 9 {
		n := int(binary.BigEndian.Uint32(append([]byte{0}, f.buf[:3]...)))
		if len(f.buf) < 9+n {
			return
		}
		if typ, flags := f.buf[3], f.buf[4]; typ == 0x6 && flags&0x1 == 0 {
			f.nonAcks++
		}
		f.buf = f.buf[9+n:]
	}
}

func (f *frameCounter) pings() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nonAcks
}

// countingConn is the client's end: what it reads, the server wrote.
type countingConn struct {
	net.Conn
	fc *frameCounter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.fc.feed(p[:n])
	return n, err
}
