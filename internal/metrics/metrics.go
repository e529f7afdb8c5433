// Package metrics is the daemon's Prometheus instrumentation: per-RPC
// counters and latencies (a gRPC interceptor pair), image pulls, container
// lifecycle, pod start-up stages, monitors, and the Go runtime.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	namespace = "container_runtime"
	subsystem = "crio"
)

// Metrics holds the registry and every series the daemon exports.
type Metrics struct {
	Registry *prometheus.Registry

	ops           *prometheus.CounterVec
	opsLatency    *prometheus.HistogramVec
	opsErrors     *prometheus.CounterVec
	pullBytes     prometheus.Counter
	pullSuccess   prometheus.Counter
	pullFailure   *prometheus.CounterVec
	started       prometheus.Counter
	exited        prometheus.Counter
	oom           prometheus.Counter
	stages        *prometheus.HistogramVec
	eventsDropped prometheus.Counter

	codeOf func(error) codes.Code
}

// Options are the hooks New needs from the daemon.
type Options struct {
	// CodeOf maps a handler's error to its gRPC code (the daemon's own
	// mapping; the interceptor runs inside the one that applies it).
	CodeOf func(error) codes.Code
	// Monitors, when set, is sampled for the monitor-process gauge.
	Monitors func() float64
	// Collectors limits the optional collectors ("go", "process",
	// "operations", "image_pulls", "containers", "sandbox"); empty is all.
	Collectors []string
}

func name(n string) string { return prometheus.BuildFQName(namespace, subsystem, n) }

// New registers every series in a fresh registry.
func New(opts Options) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), codeOf: opts.CodeOf}
	if m.codeOf == nil {
		m.codeOf = status.Code
	}
	m.ops = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("operations_total"),
		Help: "Number of CRI operations by operation."}, []string{"operation"})
	m.opsLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("operations_latency_seconds"),
		Help:    "Latency of CRI operations in seconds, by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}},
		[]string{"operation"})
	m.opsErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("operations_errors_total"),
		Help: "Number of failed CRI operations by operation and gRPC code."}, []string{"operation", "error"})
	m.pullBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: name("image_pulls_bytes_total"),
		Help: "Bytes of images pulled successfully."})
	m.pullSuccess = prometheus.NewCounter(prometheus.CounterOpts{Name: name("image_pulls_success_total"),
		Help: "Number of successful image pulls."})
	m.pullFailure = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("image_pulls_failure_total"),
		Help: "Number of failed image pulls by gRPC code."}, []string{"error"})
	m.started = prometheus.NewCounter(prometheus.CounterOpts{Name: name("containers_started_total"),
		Help: "Number of containers started."})
	m.exited = prometheus.NewCounter(prometheus.CounterOpts{Name: name("containers_exited_total"),
		Help: "Number of containers that exited."})
	m.oom = prometheus.NewCounter(prometheus.CounterOpts{Name: name("containers_oom_total"),
		Help: "Number of containers killed by the OOM killer."})
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("sandbox_stage_latency_seconds"),
		Help:    "Latency of the stages of RunPodSandbox and container creation in seconds, by stage.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"stage"})
	m.eventsDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: name("container_events_dropped_total"),
		Help: "Container events dropped because a GetContainerEvents subscriber fell behind."})

	on := func(c string) bool { return len(opts.Collectors) == 0 || contains(opts.Collectors, c) }
	if on("operations") {
		m.Registry.MustRegister(m.ops, m.opsLatency, m.opsErrors)
	}
	if on("image_pulls") {
		m.Registry.MustRegister(m.pullBytes, m.pullSuccess, m.pullFailure)
	}
	if on("containers") {
		m.Registry.MustRegister(m.started, m.exited, m.oom, m.eventsDropped)
		if opts.Monitors != nil {
			m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("monitors"),
				Help: "Number of running conmon-go monitor processes."}, opts.Monitors))
		}
	}
	if on("sandbox") {
		m.Registry.MustRegister(m.stages)
	}
	if on("go") {
		m.Registry.MustRegister(collectors.NewGoCollector())
	}
	if on("process") {
		m.Registry.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimPrefix(strings.TrimPrefix(x, "crio_"), "container_runtime_crio_") == s || x == s {
			return true
		}
	}
	return false
}

// Interceptors count and time every RPC. Chain them after the daemon's
// own interceptor (so they see the handler's error and its panics are
// already recovered there).
func (m *Metrics) Interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		m.ObserveOperation(info.FullMethod, time.Since(start), err)
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		m.ObserveOperation(info.FullMethod, time.Since(start), err)
		return err
	}
	return unary, stream
}

// ObserveOperation records one finished RPC.
func (m *Metrics) ObserveOperation(method string, d time.Duration, err error) {
	op := method[strings.LastIndex(method, "/")+1:]
	m.ops.WithLabelValues(op).Inc()
	m.opsLatency.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.opsErrors.WithLabelValues(op, m.codeOf(err).String()).Inc()
	}
}

// ImagePull records a pull: its size on success, its code on failure.
func (m *Metrics) ImagePull(bytes int64, err error) {
	if err != nil {
		m.pullFailure.WithLabelValues(m.codeOf(err).String()).Inc()
		return
	}
	m.pullSuccess.Inc()
	if bytes > 0 {
		m.pullBytes.Add(float64(bytes))
	}
}

// ContainerStarted counts a started container.
func (m *Metrics) ContainerStarted() { m.started.Inc() }

// ContainerExited counts an exit, and an OOM kill.
func (m *Metrics) ContainerExited(oomKilled bool) {
	m.exited.Inc()
	if oomKilled {
		m.oom.Inc()
	}
}

// Stage records the latency of a pod or container start-up stage
// ("namespaces", "cni_add", "spec", "monitor_start", "runtime_create").
func (m *Metrics) Stage(stage string, d time.Duration) {
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
}

// EventDropped counts an event a subscriber missed.
func (m *Metrics) EventDropped() { m.eventsDropped.Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// ServeOptions say where the endpoint listens.
type ServeOptions struct {
	Host, Port string
	Socket     string // optional unix socket, served as well
	Cert, Key  string // TLS when both are set
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
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
			if o.Cert != "" && o.Key != "" && l.Addr().Network() == "tcp" {
				err = srv.ServeTLS(l, o.Cert, o.Key)
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
