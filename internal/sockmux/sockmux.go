// Package sockmux splits one socket's connections between the gRPC server
// and an HTTP/1 server, as CRI-O serves both on its CRI socket (cAdvisor,
// and so every kubelet pointed at .../run/crio/crio.sock, reads container
// facts over HTTP there). A connection goes by its first bytes, read with
// MSG_PEEK so the gRPC server gets the untouched *net.UnixConn.
package sockmux

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// http2Preface starts every gRPC (HTTP/2) connection; its first three
// bytes tell it from any HTTP/1 method (PUT, POST, PATCH start with P too).
var http2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// peekLen is how many bytes decide.
const peekLen = 3

// Split returns two listeners fed by l: gRPC connections on the first,
// HTTP/1 ones on the second. A connection that sends nothing within
// timeout is closed. Closing either listener closes l.
func Split(l net.Listener, timeout time.Duration) (grpcL, httpL net.Listener) {
	s := &splitter{l: l, timeout: timeout, done: make(chan struct{})}
	s.grpc = &side{s: s, conns: make(chan net.Conn)}
	s.http = &side{s: s, conns: make(chan net.Conn)}
	go s.accept()
	return s.grpc, s.http
}

type splitter struct {
	l          net.Listener
	timeout    time.Duration
	grpc, http *side
	once       sync.Once
	done       chan struct{}
	err        error // why accepting stopped; read after done is closed
}

func (s *splitter) accept() {
	var backoff time.Duration
	for {
		c, err := s.l.Accept()
		if err != nil {
			// Out of file descriptors and the like pass, as grpc-go and
			// net/http wait them out; anything else ends the socket.
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-s.done:
					return
				}
			}
			s.stop(err)
			return
		}
		backoff = 0
		go s.route(c)
	}
}

func (s *splitter) stop(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		_ = s.l.Close()
	})
}

// route hands c to the side its first bytes name.
func (s *splitter) route(c net.Conn) {
	head, err := peek(c, peekLen, s.timeout)
	if err != nil {
		_ = c.Close()
		return
	}
	to := s.http
	if bytes.HasPrefix(http2Preface, head) {
		to = s.grpc
	}
	select {
	case to.conns <- c:
	case <-s.done:
		_ = c.Close()
	}
}

// peek reads up to n bytes of c without consuming them, waiting at most
// timeout for them. Fewer bytes are returned only when c is closed.
func peek(c net.Conn, n int, timeout time.Duration) ([]byte, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("sockmux: connection has no file descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	got := 0
	for got < n {
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			got, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return nil, err
		}
		if got == 0 {
			return nil, errors.New("sockmux: closed before its first bytes")
		}
		if got < n {
			// A partial write: the rest follows at once. MSG_PEEK on a
			// readable socket does not wait, so pause instead of spinning.
			time.Sleep(time.Millisecond)
		}
	}
	return buf, nil
}

// side is one of the two listeners.
type side struct {
	s     *splitter
	conns chan net.Conn
}

func (d *side) Accept() (net.Conn, error) {
	select {
	case c := <-d.conns:
		return c, nil
	case <-d.s.done:
		return nil, d.s.err
	}
}

func (d *side) Close() error {
	d.s.stop(net.ErrClosed)
	return nil
}

func (d *side) Addr() net.Addr { return d.s.l.Addr() }
