package registry

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// ProxyOptions controls a Proxy's misbehaviour.
type ProxyOptions struct {
	// StallBlobsAfter, when > 0, makes every blob GET send that many bytes
	// and then stall (no more bytes, connection open) until the client gives
	// up or the proxy closes.
	StallBlobsAfter int64
	// CorruptDigests lists blob digests whose bodies are served with one
	// byte flipped (same length), so digest verification must fail.
	CorruptDigests []string
	// BlobDelay delays every blob GET response by this much, to make
	// concurrent pulls overlap.
	BlobDelay time.Duration
	// LinkBytesPerSecond, when > 0, paces all blob bodies together to this
	// rate, as one network link would (benchmarks of a pull that is not on
	// loopback).
	LinkBytesPerSecond int64
}

// Proxy is a plain-HTTP loopback reverse proxy in front of a Registry that
// counts blob GETs and can stall or corrupt blob downloads.
type Proxy struct {
	// Addr is "127.0.0.1:port" (plain HTTP; mark it insecure).
	Addr string

	opts  ProxyOptions
	mu    sync.Mutex
	gets  map[string]int
	next  time.Time // when the link is free again (LinkBytesPerSecond)
	srv   *http.Server
	done  chan struct{}
	close sync.Once
}

// StartProxy runs a proxy to r for the duration of the test.
func StartProxy(t testing.TB, r *Registry, opts ProxyOptions) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	target, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), opts: opts, gets: map[string]int{}, done: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = r.client.Transport
	rp.FlushInterval = -1
	rp.ModifyResponse = p.modify
	rp.ErrorLog = log.New(io.Discard, "", 0) // stalls and aborts are the point
	p.srv = &http.Server{Handler: p.handler(rp), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	t.Cleanup(p.Close)
	return p
}

func (p *Proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if d := blobDigest(req); d != "" && req.Method == http.MethodGet {
			p.mu.Lock()
			p.gets[d]++
			p.mu.Unlock()
			if p.opts.BlobDelay > 0 {
				select {
				case <-time.After(p.opts.BlobDelay):
				case <-req.Context().Done():
					return
				}
			}
		}
		next.ServeHTTP(w, req)
	})
}

func blobDigest(req *http.Request) string {
	if i := strings.LastIndex(req.URL.Path, "/blobs/"); i >= 0 && strings.HasPrefix(req.URL.Path, "/v2/") {
		d := req.URL.Path[i+len("/blobs/"):]
		if strings.HasPrefix(d, "sha256:") {
			return d
		}
	}
	return ""
}

func (p *Proxy) modify(resp *http.Response) error {
	d := blobDigest(resp.Request)
	if d == "" || resp.Request.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return nil
	}
	for _, c := range p.opts.CorruptDigests {
		if c == d {
			resp.Body = &corruptReader{rc: resp.Body}
		}
	}
	if p.opts.LinkBytesPerSecond > 0 {
		resp.Body = &pacedReader{rc: resp.Body, p: p}
	}
	if p.opts.StallBlobsAfter > 0 {
		resp.Body = &stallReader{rc: resp.Body, left: p.opts.StallBlobsAfter, done: p.done, ctx: resp.Request.Context().Done()}
	}
	return nil
}

// BlobGets returns how many GETs each blob digest received.
func (p *Proxy) BlobGets() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.gets))
	for k, v := range p.gets {
		out[k] = v
	}
	return out
}

// Close stops the proxy and releases stalled downloads.
func (p *Proxy) Close() {
	p.close.Do(func() {
		close(p.done)
		_ = p.srv.Close()
	})
}

type stallReader struct {
	rc   io.ReadCloser
	left int64
	done <-chan struct{}
	ctx  <-chan struct{}
}

func (s *stallReader) Read(b []byte) (int, error) {
	if s.left <= 0 {
		select {
		case <-s.done:
		case <-s.ctx:
		}
		return 0, errors.New("proxy: stalled download aborted")
	}
	if int64(len(b)) > s.left {
		b = b[:s.left]
	}
	n, err := s.rc.Read(b)
	s.left -= int64(n)
	return n, err
}

func (s *stallReader) Close() error { return s.rc.Close() }

// pacedReader hands out at most 64 KiB per read, each once the shared
// link has had time to carry it.
type pacedReader struct {
	rc io.ReadCloser
	p  *Proxy
}

func (r *pacedReader) Read(b []byte) (int, error) {
	n, err := r.rc.Read(b[:min(len(b), 64<<10)])
	if n > 0 {
		r.p.mu.Lock()
		// Credit of up to 10 ms of idle link, so that sleeping late does
		// not slow the link down.
		at := time.Now().Add(-10 * time.Millisecond)
		if r.p.next.After(at) {
			at = r.p.next
		}
		at = at.Add(time.Duration(int64(n) * int64(time.Second) / r.p.opts.LinkBytesPerSecond))
		r.p.next = at
		r.p.mu.Unlock()
		time.Sleep(time.Until(at))
	}
	return n, err
}

func (r *pacedReader) Close() error { return r.rc.Close() }

type corruptReader struct {
	rc      io.ReadCloser
	flipped bool
}

func (c *corruptReader) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	if n > 0 && !c.flipped {
		b[n/2] ^= 0xff
		c.flipped = true
	}
	return n, err
}

func (c *corruptReader) Close() error { return c.rc.Close() }
