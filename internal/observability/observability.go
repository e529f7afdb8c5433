// Package observability runs what the daemon observes of its pods and
// containers, started and stopped as one: the background stats
// collection, the container event feed and the Prometheus metrics (with
// their endpoint). The RPCs read from it; it holds no CRI translation.
package observability

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cgroups"
	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/cristats"
	"github.com/crio-runtime/crio/internal/events"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/metrics"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
	"github.com/crio-runtime/crio/pkg/config"
)

// Options are what is observed, and the few things only the server knows.
type Options struct {
	Config     func() *config.Config // the running config (reloads swap it)
	Log        *slog.Logger
	Pods       *sandbox.Manager
	Containers *container.Manager
	Images     *image.Service
	// CodeOf is the gRPC code an RPC error is answered with, for the
	// operation metrics.
	CodeOf func(error) codes.Code
	// PodStatus and ContainerStatus are the statuses events carry.
	PodStatus       func(*sandbox.Sandbox) *runtimeapi.PodSandboxStatus
	ContainerStatus func(*container.Container) *runtimeapi.ContainerStatus
	// OnContainerStopped, if set, hears of each container's stop (NRI).
	OnContainerStopped func(id string)
}

// Observability is the running state of stats, events and metrics.
type Observability struct {
	opts      Options
	collector *stats.Collector
	feed      *events.Feed
	metrics   *metrics.Metrics
	graphRoot string
	kick      chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	monitorGone map[string]bool // containers counted by probeMonitors
}

// eventPoll is how often container state is diffed when nothing kicks
// the feed (a safety net: Kick makes events immediate).
const eventPoll = time.Second

// Start starts stats collection, the event feed and, when endpoint is set
// and metrics are enabled, the metrics endpoint. Start it once the
// containers are restored: what exists then is the events' baseline.
func Start(ctx context.Context, opts Options, endpoint bool) (*Observability, error) {
	cfg := opts.Config().Crio
	layout, err := cgroups.DetectLayout()
	if err != nil {
		opts.Log.Warn("cgroup stats unavailable", "error", err)
	}
	o := &Observability{opts: opts, kick: make(chan struct{}, 1), graphRoot: opts.Images.Store().GraphRoot()}
	o.metrics = metrics.New(metrics.Options{
		CodeOf:         opts.CodeOf,
		Monitors:       o.monitorCount,
		DefaultRuntime: func() string { return opts.Config().Crio.Runtime.DefaultRuntime },
		Collectors:     cfg.Metrics.MetricsCollectors,
	})
	if u := metrics.Unknown(cfg.Metrics.MetricsCollectors); len(u) > 0 && endpoint {
		opts.Log.Warn("unknown metrics collectors ignored", "collectors", u)
	}
	opts.Images.SetProgress(o.metrics)
	o.feed = events.NewFeed(events.FeedOptions{
		Pods: opts.Pods, Containers: opts.Containers, PodStatus: opts.PodStatus, ContainerStatus: opts.ContainerStatus,
		Observe: o.observeChange, OnDrop: o.metrics.EventDropped,
	})
	o.collector = stats.NewCollector(stats.Options{
		Layout: layout, CgroupDriver: cfg.Runtime.CgroupManager,
		Period: time.Duration(cfg.Stats.StatsCollectionPeriod) * time.Second,
		Disk:   o.writableLayerUsage, Source: statsSource{opts}, Log: opts.Log,
	})
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	o.cancel = cancel
	if endpoint {
		if err := o.serveMetrics(rctx); err != nil {
			cancel()
			return nil, err
		}
	}
	o.wg.Add(2)
	go func() { defer o.wg.Done(); o.collector.Run(rctx) }()
	go func() { defer o.wg.Done(); o.runEvents(rctx) }()
	return o, nil
}

// serveMetrics starts the metrics endpoint when metrics are enabled.
func (o *Observability) serveMetrics(ctx context.Context) error {
	m := o.opts.Config().Crio.Metrics
	if !m.EnableMetrics {
		return nil
	}
	tlsCfg, err := o.metricsTLS()
	if err != nil {
		return err
	}
	addr, err := o.metrics.Serve(ctx, metrics.ServeOptions{
		Host: m.MetricsHost, Port: strconv.Itoa(m.MetricsPort), Socket: m.MetricsSocket,
		TLS: tlsCfg, Log: o.opts.Log,
	})
	if err != nil {
		return fmt.Errorf("start metrics endpoint: %w", err)
	}
	o.opts.Log.Info("serving metrics", "address", addr, "collectors", len(o.metrics.Registered()))
	return nil
}

// Stop stops the collector, the event feed and the metrics endpoint.
func (o *Observability) Stop() {
	o.cancel()
	o.wg.Wait()
}

// Kick tells the event feed that a container was created, started,
// exited or removed, so its event goes out now rather than at the next
// poll. Safe to call from any goroutine; it never blocks.
func (o *Observability) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Metrics are the daemon's Prometheus metrics.
func (o *Observability) Metrics() *metrics.Metrics { return o.metrics }

// Collector is the background stats collection.
func (o *Observability) Collector() *stats.Collector { return o.collector }

// Events is the container event feed.
func (o *Observability) Events() *events.Feed { return o.feed }

// Stats builds the CRI stats answers from the collector.
func (o *Observability) Stats() cristats.Reader {
	return cristats.Reader{Collector: o.collector, GraphRoot: o.graphRoot}
}

// GraphRoot is the storage graph root the writable layers live on.
func (o *Observability) GraphRoot() string { return o.graphRoot }

// ImagePull records a pull's outcome (its bytes are counted as they
// arrive, through the image service's progress).
func (o *Observability) ImagePull(err error) {
	o.metrics.ImagePull(err, image.PullFailureCategory(err))
}

// runEvents diffs the containers whenever kicked and at least every
// eventPoll, and publishes the changes.
func (o *Observability) runEvents(ctx context.Context) {
	t := time.NewTicker(eventPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			o.probeMonitors()
		case <-o.kick:
		}
		o.feed.Publish()
	}
}

// observeChange counts container starts and exits (pods feed no
// container metric).
func (o *Observability) observeChange(ch events.Change) {
	switch {
	case ch.Sandbox:
	case ch.Type == runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT:
		o.metrics.ContainerStarted()
	case ch.Type == runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT:
		oom, name := false, ""
		if c, err := o.opts.Containers.Get(ch.ID); err == nil {
			oom, name = c.Status().OOMKilled, c.Metadata().Name
		}
		o.metrics.ContainerExited(name, oom)
		if o.opts.OnContainerStopped != nil {
			o.opts.OnContainerStopped(ch.ID)
		}
	}
}
