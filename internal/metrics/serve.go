package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// ServeOptions say where the endpoint listens.
type ServeOptions struct {
	Host, Port string
	Socket     string      // optional unix socket, served as well
	TLS        *tls.Config // when set, both endpoints serve TLS (as CRI-O)
	Log        *slog.Logger
}

// Addr is host:port with an empty host meaning loopback: the endpoint is
// never on every interface unless the operator names one.
func (o ServeOptions) Addr() string {
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, o.Port)
}

// Serve listens and serves /metrics until ctx ends. It returns once the
// listeners are bound (so a port clash is reported at start-up).
func (m *Metrics) Serve(ctx context.Context, o ServeOptions) (addr string, err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: o.TLS}
	var ls []net.Listener
	l, err := net.Listen("tcp", o.Addr())
	if err != nil {
		return "", fmt.Errorf("metrics listen on %s: %w", o.Addr(), err)
	}
	ls = append(ls, l)
	if o.Socket != "" {
		_ = os.Remove(o.Socket)
		ul, err := net.Listen("unix", o.Socket)
		if err != nil {
			l.Close()
			return "", fmt.Errorf("metrics listen on %s: %w", o.Socket, err)
		}
		_ = os.Chmod(o.Socket, 0o600)
		ls = append(ls, ul)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	for _, l := range ls {
		go func() {
			var err error
			if o.TLS != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "address", l.Addr().String(), "error", err)
			}
		}()
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return l.Addr().String(), nil
}

// PortString formats a port for ServeOptions.
func PortString(p int) string { return strconv.Itoa(p) }
