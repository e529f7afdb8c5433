// Package client is a small client of the streaming protocols the runtime
// serves (SPDY port-forward and remotecommand v4), the same wire format
// kubectl and crictl speak. Tests and benchmarks use it.
package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// dial upgrades the URL to SPDY, offering protocols, and returns the
// connection and the protocol the server chose.
func dial(ctx context.Context, rawURL string, tlsCfg *tls.Config, protocols ...string) (httpstream.Connection, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("parse url: %w", err)
	}
	noProxy := func(*http.Request) (*url.URL, error) { return nil, nil }
	rt, err := spdy.NewRoundTripperWithProxy(tlsCfg, noProxy)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	for _, p := range protocols {
		req.Header.Add(httpstream.HeaderProtocolVersion, p)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", fmt.Errorf("upgrade %s: %w", u.Path, err)
	}
	conn, err := rt.NewConnection(resp)
	if err != nil {
		return nil, "", err
	}
	return conn, resp.Header.Get(httpstream.HeaderProtocolVersion), nil
}

// PortForwarder carries connections to a pod's ports over one upgraded
// connection, as `kubectl port-forward` does.
type PortForwarder struct {
	conn   httpstream.Connection
	nextID atomic.Int64
}

// DialPortForward connects to a URL from the PortForward RPC.
func DialPortForward(ctx context.Context, rawURL string, tlsCfg *tls.Config) (*PortForwarder, error) {
	conn, proto, err := dial(ctx, rawURL, tlsCfg, "portforward.k8s.io")
	if err != nil {
		return nil, err
	}
	if proto != "portforward.k8s.io" {
		conn.Close()
		return nil, fmt.Errorf("server chose protocol %q", proto)
	}
	return &PortForwarder{conn: conn}, nil
}

// Close ends every forwarded connection.
func (p *PortForwarder) Close() error { return p.conn.Close() }

// Stream is one forwarded connection: Read/Write reach the pod's port,
// CloseWrite half-closes, Close ends it. Err reports what the server wrote
// to the error stream.
type Stream struct {
	data, errs httpstream.Stream
	conn       httpstream.Connection
	errDone    chan struct{}
	errMsg     string
}

// Open starts a new connection to port in the pod.
func (p *PortForwarder) Open(port int) (*Stream, error) {
	id := strconv.FormatInt(p.nextID.Add(1), 10)
	h := http.Header{}
	h.Set("streamType", "error")
	h.Set("port", strconv.Itoa(port))
	h.Set("requestID", id)
	errs, err := p.conn.CreateStream(h)
	if err != nil {
		return nil, fmt.Errorf("create error stream: %w", err)
	}
	// The client sends nothing on the error stream.
	_ = errs.Close()
	h.Set("streamType", "data")
	data, err := p.conn.CreateStream(h)
	if err != nil {
		// The server may refuse (unknown pod, closed port) before the data
		// stream is set up: its reason is on the error stream.
		if msg := readBriefly(errs); msg != "" {
			return nil, fmt.Errorf("%s", msg)
		}
		_ = errs.Reset()
		return nil, fmt.Errorf("create data stream: %w", err)
	}
	s := &Stream{data: data, errs: errs, conn: p.conn, errDone: make(chan struct{})}
	go s.readErr()
	return s, nil
}

func (s *Stream) readErr() {
	defer close(s.errDone)
	buf := make([]byte, 4096)
	for {
		n, err := s.errs.Read(buf)
		s.errMsg += string(buf[:n])
		if err != nil {
			return
		}
	}
}

func (s *Stream) Read(b []byte) (int, error)  { return s.data.Read(b) }
func (s *Stream) Write(b []byte) (int, error) { return s.data.Write(b) }

// CloseWrite tells the pod's side that no more data comes (a TCP half-close).
func (s *Stream) CloseWrite() error { return s.data.Close() }

// Close resets both streams.
func (s *Stream) Close() error {
	s.conn.RemoveStreams(s.data, s.errs)
	_ = s.errs.Reset()
	return s.data.Reset()
}

// Err waits for the server to finish with this connection and returns what
// it reported, nil if nothing.
func (s *Stream) Err() error {
	<-s.errDone
	if s.errMsg != "" {
		return fmt.Errorf("port-forward: %s", s.errMsg)
	}
	return nil
}

// readBriefly reads what the error stream holds, waiting at most a second.
func readBriefly(r io.Reader) string {
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 4096))
		got <- string(b)
	}()
	select {
	case msg := <-got:
		return msg
	case <-time.After(time.Second):
		return ""
	}
}
