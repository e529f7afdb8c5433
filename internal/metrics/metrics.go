// Package metrics is the daemon's Prometheus instrumentation. It exports
// every metric CRI-O exports, under CRI-O's names, types and labels and
// selected by CRI-O's collector names, plus a few of our own (container
// starts and exits, monitors, pod start-up stages, Go runtime, process).
package metrics

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/crio-runtime/crio/pkg/config"
)

const (
	namespace = "container_runtime"
	subsystem = "crio"
)

// CRIOCollectors are CRI-O's collector names (see config.CRIOMetricsCollectors).
var CRIOCollectors = config.CRIOMetricsCollectors

// Metrics holds the registry and every series the daemon exports.
type Metrics struct {
	Registry *prometheus.Registry

	ops, opsErrors     *prometheus.CounterVec
	opsErrorsByCode    *prometheus.CounterVec
	opsLatency         *prometheus.GaugeVec
	opsLatencyTotal    *prometheus.SummaryVec
	pullLayerSize      prometheus.Histogram
	pullBytes          *prometheus.CounterVec
	pullSkipped        *prometheus.CounterVec
	pullSuccess        prometheus.Counter
	pullFailure        *prometheus.CounterVec
	layerReuse         *prometheus.CounterVec
	started, exited    prometheus.Counter
	oom                prometheus.Counter
	oomByName          *prometheus.CounterVec
	seccompNotified    *prometheus.CounterVec
	stalled            *prometheus.CounterVec
	monitorStopped     *prometheus.CounterVec
	stages             *prometheus.HistogramVec
	eventsDropped      prometheus.Counter
	codeOf             func(error) codes.Code
	registeredNameList []string
	opSeries           sync.Map // full method -> *opSeries
}

// opSeries are one operation's series, looked up once: a label lookup
// hashes the value and takes the vector's lock, on every RPC otherwise.
// No series of these vectors is ever deleted, so they stay valid.
type opSeries struct {
	op      string
	count   prometheus.Counter
	latency prometheus.Gauge
	total   prometheus.Observer
}

// Options are the hooks New needs from the daemon.
type Options struct {
	// CodeOf maps a handler's error to its gRPC code (the daemon's own
	// mapping; the interceptor runs inside the one that applies it).
	CodeOf func(error) codes.Code
	// Monitors, when set, is sampled for the monitor-process gauge.
	Monitors func() float64
	// DefaultRuntime, when set, is read at each scrape for default_runtime.
	DefaultRuntime func() string
	// ProcDir is where processes_defunct looks for zombies ("/proc").
	ProcDir string
	// Collectors selects metrics by CRI-O's collector names (with or
	// without the crio_ / container_runtime_crio_ prefix) and by our own
	// names and groups ("operations", "image_pulls", "containers",
	// "sandbox", "go", "process"). Empty is all. Our own metrics are all
	// on when the list names none of them, as CRI-O's lists never do.
	Collectors []string
}

func name(n string) string { return prometheus.BuildFQName(namespace, subsystem, n) }

// sizeBuckets are CRI-O's layer-size histogram buckets, in bytes.
var sizeBuckets = []float64{1e3, 1e6, 10e6, 50e6, 100e6, 200e6, 300e6, 400e6, 500e6, 1e9, 10e9}

func counterVec(n, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name(n), Help: help}, labels)
}

func counter(n, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name(n), Help: help})
}

// New registers the selected series in a fresh registry.
func New(opts Options) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), codeOf: opts.CodeOf}
	if m.codeOf == nil {
		m.codeOf = status.Code
	}
	if opts.ProcDir == "" {
		opts.ProcDir = "/proc"
	}
	m.ops = counterVec("operations_total", "Cumulative number of CRI operations by operation type.", "operation")
	m.opsLatency = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name("operations_latency_seconds"),
		Help: "Latency in seconds of the last CRI call of each operation type (and of network set-up)."}, []string{"operation"})
	m.opsLatencyTotal = prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: name("operations_latency_seconds_total"),
		Help:       "Latency in seconds of CRI operations by operation type.",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}}, []string{"operation"})
	m.opsErrors = counterVec("operations_errors_total", "Cumulative number of failed CRI operations by operation type.", "operation")
	m.opsErrorsByCode = counterVec("operations_errors_by_code_total", "Failed CRI operations by operation type and gRPC code.", "operation", "error")
	m.pullLayerSize = prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("image_pulls_layer_size"),
		Help: "Bytes transferred by image pulls per layer.", Buckets: sizeBuckets})
	m.pullBytes = counterVec("image_pulls_bytes_total", "Bytes transferred by image pulls, by media type and layer size class.", "mediatype", "size")
	m.pullSkipped = counterVec("image_pulls_skipped_bytes_total", "Bytes image pulls did not transfer because the layer was present, by layer size class.", "size")
	m.pullSuccess = counter("image_pulls_success_total", "Cumulative number of successful image pulls.")
	m.pullFailure = counterVec("image_pulls_failure_total", "Cumulative number of failed image pulls by error category.", "error")
	m.layerReuse = counterVec("image_layer_reuse_total", "Layers reused (not pulled) by name (image@blob digest).", "name")
	m.started = counter("containers_started_total", "Number of containers started.")
	m.exited = counter("containers_exited_total", "Number of containers that exited.")
	m.oom = counter("containers_oom_total", "Number of containers killed because they ran out of memory (OOM).")
	m.oomByName = counterVec("containers_oom_count_total", "Containers killed because they ran out of memory (OOM), by container name.", "name")
	m.seccompNotified = counterVec("containers_seccomp_notifier_count_total", "Forbidden syscalls by container name and syscall.", "name", "syscall")
	m.stalled = counterVec("resources_stalled_at_stage", "Creation requests that found the same pod or container still being created, by its stage.", "stage")
	m.monitorStopped = counterVec("containers_stopped_monitor_count", "Containers whose monitor process exited while they ran, by container name.", "name")
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("sandbox_stage_latency_seconds"),
		Help:    "Latency of the stages of RunPodSandbox and container creation in seconds, by stage.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"stage"})
	m.eventsDropped = counter("containers_events_dropped_total", "Number of container events dropped because a GetContainerEvents subscriber fell behind.")

	for _, e := range m.entries(opts) {
		if e.c != nil && selected(opts.Collectors, e) {
			m.Registry.MustRegister(e.c)
			m.registeredNameList = append(m.registeredNameList, e.key)
		}
	}
	return m
}

// entry is one selectable metric: its collector name, our older group
// name that also selects it, and whether it is ours rather than CRI-O's.
type entry struct {
	key, group string
	extra      bool
	c          prometheus.Collector
}

func (m *Metrics) entries(opts Options) []entry {
	var monitors, defRuntime prometheus.Collector
	if opts.Monitors != nil {
		monitors = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("monitors"),
			Help: "Number of running conmon-go monitor processes."}, opts.Monitors)
	}
	if opts.DefaultRuntime != nil {
		defRuntime = &defaultRuntimeCollector{f: opts.DefaultRuntime, desc: prometheus.NewDesc(name("default_runtime"),
			"Default container runtime configured. Value is always 1.", []string{"runtime"}, nil)}
	}
	proc := opts.ProcDir
	return []entry{
		{key: "image_pulls_layer_size", group: "image_pulls", c: m.pullLayerSize},
		{key: "containers_events_dropped_total", group: "containers", c: m.eventsDropped},
		{key: "containers_oom_total", group: "containers", c: m.oom},
		{key: "processes_defunct", group: "containers", c: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: name("processes_defunct"), Help: "Total number of defunct (zombie) processes on the node."},
			func() float64 { n, _ := countDefunct(proc); return float64(n) })},
		{key: "operations_total", group: "operations", c: m.ops},
		{key: "operations_latency_seconds", group: "operations", c: m.opsLatency},
		{key: "operations_latency_seconds_total", group: "operations", c: m.opsLatencyTotal},
		{key: "operations_errors_total", group: "operations", c: m.opsErrors},
		{key: "image_pulls_bytes_total", group: "image_pulls", c: m.pullBytes},
		{key: "image_pulls_skipped_bytes_total", group: "image_pulls", c: m.pullSkipped},
		{key: "image_pulls_failure_total", group: "image_pulls", c: m.pullFailure},
		{key: "image_pulls_success_total", group: "image_pulls", c: m.pullSuccess},
		{key: "image_layer_reuse_total", group: "image_pulls", c: m.layerReuse},
		{key: "containers_oom_count_total", group: "containers", c: m.oomByName},
		{key: "containers_seccomp_notifier_count_total", group: "containers", c: m.seccompNotified},
		{key: "resources_stalled_at_stage", group: "sandbox", c: m.stalled},
		{key: "containers_stopped_monitor_count", group: "containers", c: m.monitorStopped},
		{key: "default_runtime", group: "containers", c: defRuntime},
		// Ours.
		{key: "operations_errors_by_code_total", group: "operations", extra: true, c: m.opsErrorsByCode},
		{key: "containers_started_total", group: "containers", extra: true, c: m.started},
		{key: "containers_exited_total", group: "containers", extra: true, c: m.exited},
		{key: "monitors", group: "containers", extra: true, c: monitors},
		{key: "sandbox_stage_latency_seconds", group: "sandbox", extra: true, c: m.stages},
		{key: "go", group: "go", extra: true, c: collectors.NewGoCollector()},
		{key: "process", group: "process", extra: true, c: collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})},
	}
}

// ourNames are the names only we know: our metrics and our groups.
var ourNames = map[string]bool{
	"operations": true, "image_pulls": true, "containers": true, "sandbox": true, "go": true, "process": true,
	"operations_errors_by_code_total": true, "containers_started_total": true, "containers_exited_total": true,
	"monitors": true, "sandbox_stage_latency_seconds": true,
}

// Stripped is a collector name without CRI-O's prefixes, as CRI-O
// compares them ("container_runtime_crio_x" and "crio_x" are "x").
func Stripped(s string) string {
	return strings.TrimPrefix(strings.TrimPrefix(s, namespace+"_"), subsystem+"_")
}

func selected(list []string, e entry) bool {
	if len(list) == 0 {
		return true
	}
	namesOurs := false
	for _, x := range list {
		x = Stripped(x)
		if x == e.key || x == e.group {
			return true
		}
		namesOurs = namesOurs || ourNames[x]
	}
	return e.extra && !namesOurs
}

// Unknown returns the names in list that select nothing.
func Unknown(list []string) []string {
	known := map[string]bool{}
	for _, n := range CRIOCollectors {
		known[n] = true
	}
	var out []string
	for _, x := range list {
		if s := Stripped(x); !known[s] && !ourNames[s] {
			out = append(out, x)
		}
	}
	return out
}

// Registered lists the collector names New registered, for the start log.
func (m *Metrics) Registered() []string { return m.registeredNameList }

// defaultRuntimeCollector reports the configured default runtime at each
// scrape, so a reload is reflected without a hook.
type defaultRuntimeCollector struct {
	desc *prometheus.Desc
	f    func() string
}

func (d *defaultRuntimeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d *defaultRuntimeCollector) Collect(ch chan<- prometheus.Metric) {
	if r := d.f(); r != "" {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.GaugeValue, 1, r)
	}
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
	s := m.series(method)
	s.count.Inc()
	s.latency.Set(d.Seconds())
	s.total.Observe(d.Seconds())
	if err != nil {
		// Looked up here: an error series exists only once there was one.
		m.opsErrors.WithLabelValues(s.op).Inc()
		m.opsErrorsByCode.WithLabelValues(s.op, m.codeOf(err).String()).Inc()
	}
}

// series returns the operation series of method (a gRPC full method name,
// labelled by its last element).
func (m *Metrics) series(method string) *opSeries {
	if s, ok := m.opSeries.Load(method); ok {
		return s.(*opSeries)
	}
	op := method[strings.LastIndex(method, "/")+1:]
	s := &opSeries{op: op, count: m.ops.WithLabelValues(op), latency: m.opsLatency.WithLabelValues(op),
		total: m.opsLatencyTotal.WithLabelValues(op)}
	got, _ := m.opSeries.LoadOrStore(method, s)
	return got.(*opSeries)
}
