// Package streaming serves exec, attach and port-forward for the CRI: the
// RPCs hand out single-use URLs on this server (k8s.io/cri-streaming), and
// the client (the kubelet or crictl) connects there with SPDY or WebSocket.
//
// Port-forward targets the pod's network namespace and speaks TCP only; UDP
// is not part of the CRI contract.
package streaming

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	cristream "k8s.io/cri-streaming/pkg/streaming"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
)

// TerminalSize is a resize event for a tty session.
type TerminalSize = remotecommand.TerminalSize

// Containers runs exec and attach sessions; the container manager implements
// it. Errors should carry gRPC codes (NotFound, FailedPrecondition) where
// one applies.
type Containers interface {
	// ExecStream runs cmd in the running container (`<runtime> exec` with the
	// container's process spec), wiring the streams, and returns the command's
	// exit code. A non-zero exit code is not an error. stdin, stdout and stderr
	// are nil when not requested; resize is nil unless tty. ExecStream must
	// return when ctx is done (the client went away).
	ExecStream(ctx context.Context, containerID string, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan TerminalSize) (exitCode int, err error)
	// AttachStream connects the streams to the running container's stdio
	// through its monitor's attach socket until the client detaches (ctx done
	// or stdin closed) or the container exits. Detaching must not stop the
	// container.
	AttachStream(ctx context.Context, containerID string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan TerminalSize) error
	// CheckRunning resolves an id or unique prefix; it fails with NotFound for
	// an unknown container and FailedPrecondition for one that is not running.
	// The Exec and Attach RPCs call it before handing out a URL.
	CheckRunning(containerID string) error
}

// PodNetNS returns the path of a ready pod's network namespace, "" for a pod
// on the host network; NotFound for an unknown pod, FailedPrecondition for a
// pod that is not ready.
type PodNetNS func(podID string) (string, error)

var klogOnce sync.Once

// Config is how the server listens.
type Config struct {
	Addr        string        // host:port; port 0 picks a free one
	IdleTimeout time.Duration // 0: streams never time out for idleness
	TLS         *TLSFiles     // nil: plain HTTP
}

// Server is the running streaming server.
type Server struct {
	lib   cristream.Server
	rt    *runtime
	http  *http.Server
	ln    net.Listener
	conns *trackingListener
	base  string
}

// New listens on cfg.Addr; Serve answers. pods finds a pod's netns for
// port-forward; containers may be set later with SetContainers.
func New(cfg Config, pods PodNetNS, log *slog.Logger) (*Server, error) {
	// The library reports through klog; send that to our log. klog is
	// global and not safe to reset while streams run: the first server wins.
	klogOnce.Do(func() {
		klog.SetSlogLogger(slog.New(quietDisconnects{log.Handler()}).With("component", "streaming"))
	})
	var tlsCfg *tls.Config
	if cfg.TLS != nil {
		r, err := newCertReloader(*cfg.TLS, log)
		if err != nil {
			return nil, err
		}
		tlsCfg = r.serverConfig()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for streaming on %s: %w", cfg.Addr, err)
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	conns := newTrackingListener(ln)
	ln = conns
	if tlsCfg != nil {
		base.Scheme = "https"
		ln = tls.NewListener(ln, tlsCfg)
	}
	libCfg := cristream.DefaultConfig
	libCfg.Addr = ln.Addr().String()
	libCfg.BaseURL = base
	libCfg.StreamIdleTimeout = cfg.IdleTimeout
	rt := &runtime{pods: pods, log: log}
	lib, err := cristream.NewServer(libCfg, rt)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("create streaming server: %w", err)
	}
	s := &Server{
		lib: lib, rt: rt, ln: ln, conns: conns, base: base.String(),
		http: &http.Server{
			Handler:           lib,
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}
	return s, nil
}

// URL is the base URL clients are sent to.
func (s *Server) URL() string { return s.base }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers requests until Close; run it in its own goroutine.
func (s *Server) Serve() error {
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("streaming server: %w", err)
	}
	return nil
}

// Close stops listening and ends every open stream.
func (s *Server) Close() error {
	err := s.http.Close()
	s.conns.closeAll()
	return err
}

// SetContainers installs the container manager that runs exec and attach.
func (s *Server) SetContainers(c Containers) { s.rt.containers.Store(&c) }

// Containers is the installed container manager, nil before SetContainers.
func (s *Server) Containers() Containers { return s.rt.getContainers() }

// GetExec returns a single-use URL for req; validate the container first.
func (s *Server) GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return s.lib.GetExec(req)
}

// GetAttach returns a single-use URL for req; validate the container first.
func (s *Server) GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return s.lib.GetAttach(req)
}

// GetPortForward returns a single-use URL for req; validate the pod first.
func (s *Server) GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return s.lib.GetPortForward(req)
}

// runtime is the library's callback side.
type runtime struct {
	pods       PodNetNS
	containers atomic.Pointer[Containers]
	log        *slog.Logger
}

func (r *runtime) getContainers() Containers {
	if p := r.containers.Load(); p != nil {
		return *p
	}
	return nil
}
