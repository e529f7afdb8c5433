package server

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/streaming"
)

// initStreaming starts the streaming server (exec, attach, port-forward) on
// stream_address:stream_port; the container manager runs exec and attach.
func (s *Server) initStreaming(ctx context.Context) error {
	a := s.Config().Crio.API
	cfg := streaming.Config{Addr: net.JoinHostPort(a.StreamAddress, a.StreamPort)}
	if a.StreamIdleTimeout != "" {
		d, err := time.ParseDuration(a.StreamIdleTimeout)
		if err != nil {
			return fmt.Errorf("stream_idle_timeout: %w", err)
		}
		cfg.IdleTimeout = d
	}
	if a.StreamEnableTLS {
		cfg.TLS = &streaming.TLSFiles{Cert: a.StreamTLSCert, Key: a.StreamTLSKey, CA: a.StreamTLSCA}
		cfg.TLS.MinVersion, cfg.TLS.CipherSuites = s.Config().TLSSettings()
	}
	srv, err := streaming.New(cfg, s.podNetNS, s.log)
	if err != nil {
		return err
	}
	srv.SetContainers(s.containers)
	s.streamSrv = srv
	go func() {
		if err := srv.Serve(); err != nil {
			s.log.Error("streaming server stopped", "error", err)
		}
	}()
	s.log.Info("streaming server listening", "url", srv.URL())
	return nil
}

// shutdownStreaming stops the streaming server and ends its open streams.
func (s *Server) shutdownStreaming() {
	if s.streamSrv != nil {
		_ = s.streamSrv.Close()
	}
}

// stream is this server's streaming server, nil before initStreaming.
func (s *Server) stream() *streaming.Server { return s.streamSrv }

// podNetNS finds a ready pod's network namespace for port-forward.
func (s *Server) podNetNS(podID string) (string, error) {
	sb, err := s.readyPod(podID)
	if err != nil {
		return "", err
	}
	return sb.Namespace(sandbox.NetNS), nil
}

// readyPod resolves a pod that can take streams: NotFound if unknown,
// FailedPrecondition if not ready.
func (s *Server) readyPod(podID string) (*sandbox.Sandbox, error) {
	sb, err := s.pods.Get(podID)
	if err != nil {
		return nil, err
	}
	if !sb.IsReady() {
		return nil, errdefs.FailedPrecondition("pod sandbox %s is not ready", sb.ID)
	}
	return sb, nil
}

// streamingUnavailable is returned when the streaming server is not running.
func streamingUnavailable() error {
	return errdefs.Unavailable("streaming server is not running")
}
