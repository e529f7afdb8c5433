package server

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/crio-runtime/crio/internal/cgroups"
	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/events"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/metrics"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
)

// observability is the per-server state of stats, events and metrics. It
// lives beside Server (keyed by it) so it can be wired with one call in
// New and one in Shutdown.
type observability struct {
	layout    cgroups.Layout
	collector *stats.Collector
	broker    *events.Broker
	tracker   *events.Tracker
	metrics   *metrics.Metrics
	kick      chan struct{}
	publishMu sync.Mutex // one diff-and-publish at a time, so events keep their order
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	podResMu sync.Mutex
	podRes   map[string]*podResourcesRecord

	monitorGone map[string]bool // containers counted by probeMonitors
}

// eventPoll is how often container state is diffed when nothing kicks
// the tracker (a safety net: ContainerChanged makes events immediate).
const eventPoll = time.Second

// initObservability starts stats collection, the event tracker and, when
// enabled, the metrics endpoint. Call it at the end of New, after the
// containers are restored: what exists then is the events' baseline.
func (s *Server) initObservability(ctx context.Context) error {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	if s.obsState != nil {
		return nil
	}
	o, err := s.newObservability(ctx, true)
	if err != nil {
		return err
	}
	s.obsState = o
	return nil
}

func (s *Server) newObservability(ctx context.Context, endpoint bool) (*observability, error) {
	cfg := s.Config().Crio
	layout, err := cgroups.DetectLayout()
	if err != nil {
		s.log.Warn("cgroup stats unavailable", "error", err)
	}
	o := &observability{layout: layout, kick: make(chan struct{}, 1), podRes: map[string]*podResourcesRecord{}}
	o.metrics = metrics.New(metrics.Options{
		CodeOf:         func(err error) codes.Code { return status.Code(toStatus(err)) },
		Monitors:       s.monitorCount,
		DefaultRuntime: func() string { return s.Config().Crio.Runtime.DefaultRuntime },
		Collectors:     cfg.Metrics.MetricsCollectors,
	})
	if u := metrics.Unknown(cfg.Metrics.MetricsCollectors); len(u) > 0 && endpoint {
		s.log.Warn("unknown metrics collectors ignored", "collectors", u)
	}
	s.images.SetProgress(o.metrics)
	o.broker = events.NewBroker(events.DefaultBuffer, o.metrics.EventDropped)
	o.tracker = events.NewTracker(s.containerStates())
	o.collector = stats.NewCollector(stats.Options{
		Layout: layout, CgroupDriver: cfg.Runtime.CgroupManager,
		Period: time.Duration(cfg.Stats.StatsCollectionPeriod) * time.Second,
		Disk:   s.writableLayerUsage, Source: statsSource{s}, Log: s.log,
	})
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	o.cancel = cancel
	if m := cfg.Metrics; m.EnableMetrics && endpoint {
		tlsCfg, err := s.metricsTLS()
		if err != nil {
			cancel()
			return nil, err
		}
		addr, err := o.metrics.Serve(rctx, metrics.ServeOptions{
			Host: m.MetricsHost, Port: strconv.Itoa(m.MetricsPort), Socket: m.MetricsSocket,
			TLS: tlsCfg, Log: s.log,
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("start metrics endpoint: %w", err)
		}
		s.log.Info("serving metrics", "address", addr, "collectors", len(o.metrics.Registered()))
	}
	o.loadPodResources(s)
	o.wg.Add(2)
	go func() { defer o.wg.Done(); o.collector.Run(rctx) }()
	go func() { defer o.wg.Done(); s.runEvents(rctx, o) }()
	return o, nil
}

// obs returns the server's observability state, starting it on first use
// if New did not.
func (s *Server) obs() *observability {
	s.obsMu.Lock()
	o := s.obsState
	s.obsMu.Unlock()
	if o != nil {
		return o
	}
	if err := s.initObservability(context.Background()); err != nil {
		s.log.Error("observability", "error", err)
	}
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	if o = s.obsState; o == nil {
		// The metrics endpoint failed: serve stats and events without it.
		o, _ = s.newObservability(context.Background(), false)
		s.obsState = o
	}
	return o
}

// shutdownObservability stops the collector, the event tracker and the
// metrics endpoint. Call it from Shutdown.
func (s *Server) shutdownObservability() {
	s.obsMu.Lock()
	o := s.obsState
	s.obsState = nil
	s.obsMu.Unlock()
	if o == nil {
		return
	}
	o.cancel()
	o.wg.Wait()
}

// ContainerChanged tells the event tracker that a container was created,
// started, exited or removed, so its event goes out now rather than at
// the next poll. Safe to call from any goroutine; it never blocks.
func (s *Server) ContainerChanged() {
	s.obsMu.Lock()
	o := s.obsState
	s.obsMu.Unlock()
	if o == nil {
		return // not started yet (e.g. exits applied during restore): the baseline will include it
	}
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// ObservabilityInterceptors count and time every RPC, and after each RPC
// that changes containers publish the resulting events before answering
// (so a create+remove between two polls still yields its events, in
// order). Chain them after Interceptors(log).
func (s *Server) ObservabilityInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	o := s.obs()
	mu, ms := o.metrics.Interceptors()
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := mu(ctx, req, info, handler)
		if changesContainers[shortMethod(info.FullMethod)] {
			s.publishChanges(o)
		}
		return resp, err
	}
	return unary, ms
}

// changesContainers are the RPCs after which container or pod events are due.
var changesContainers = map[string]bool{
	"CreateContainer": true, "StartContainer": true, "StopContainer": true, "RemoveContainer": true,
	"RunPodSandbox": true, "StopPodSandbox": true, "RemovePodSandbox": true,
}

// observeImagePull records a pull's outcome for the metrics (its bytes
// are counted as they arrive, through the image service's progress).
func (s *Server) observeImagePull(err error) {
	s.obs().metrics.ImagePull(err, image.PullFailureCategory(err))
}

// observeStage records a RunPodSandbox or CreateContainer stage latency.
func (s *Server) observeStage(stage string, d time.Duration) { s.obs().metrics.Stage(stage, d) }

func (s *Server) monitorCount() float64 {
	n := 0
	for _, c := range s.containers.Snapshot() {
		if c.MonitorPid > 0 && !c.Status().Exited {
			n++
		}
	}
	return float64(n)
}

// statsSource lists what the background collection samples.
type statsSource struct{ s *Server }

func (a statsSource) Containers() []stats.ContainerRef {
	var out []stats.ContainerRef
	for _, c := range a.s.containers.Snapshot() {
		if c.Status().Exited {
			continue
		}
		if r, ok := containerRef(c); ok {
			out = append(out, r)
		}
	}
	return out
}

func (a statsSource) Pods() []stats.PodRef {
	var out []stats.PodRef
	for _, sb := range a.s.pods.List() {
		if sb.IsReady() {
			out = append(out, podRef(sb))
		}
	}
	return out
}

func containerRef(c *container.Container) (stats.ContainerRef, bool) {
	sp := c.Spec()
	if sp == nil || sp.Linux == nil || sp.Linux.CgroupsPath == "" {
		return stats.ContainerRef{}, false
	}
	return stats.ContainerRef{ID: c.ID, CgroupsPath: sp.Linux.CgroupsPath}, true
}

func podRef(sb *sandbox.Sandbox) stats.PodRef {
	return stats.PodRef{ID: sb.ID, CgroupParent: sb.CgroupParent, NetNS: sb.Namespace(sandbox.NetNS)}
}

// writableLayerUsage measures a container's read-write layer through the
// storage driver (a walk of its diff dir on most drivers; the collector
// caches the result).
func (s *Server) writableLayerUsage(id string) (stats.DiskUsage, error) {
	st := s.images.Store()
	ctr, err := st.Container(id)
	if err != nil {
		return stats.DiskUsage{}, err
	}
	drv, err := st.GraphDriver()
	if err != nil {
		return stats.DiskUsage{}, err
	}
	du, err := drv.ReadWriteDiskUsage(ctr.LayerID)
	if err != nil {
		return stats.DiskUsage{}, err
	}
	return stats.DiskUsage{Time: time.Now(), Bytes: uint64(max(du.Size, 0)), Inodes: uint64(max(du.InodeCount, 0))}, nil
}
