// Package server implements the CRI RuntimeService and ImageService: one file
// per RPC, each validating its input, delegating to internal/*, and answering.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/linklogs"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/network"
	"github.com/crio-runtime/crio/internal/nri"
	"github.com/crio-runtime/crio/internal/observability"
	"github.com/crio-runtime/crio/internal/pending"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/internal/streaming"
	"github.com/crio-runtime/crio/pkg/config"
)

// Server serves the CRI. RPCs whose issue has not landed answer Unimplemented
// through the embedded defaults.
type Server struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	cfg  atomic.Pointer[config.Config]
	logs *logging.Setup
	log  *slog.Logger

	lock       *state.Lock
	store      *state.Store
	pods       *sandbox.Manager
	images     *image.Service
	containers *container.Manager
	streamSrv  *streaming.Server
	nri        *nri.API // nil when enable_nri is false

	obsMu    sync.Mutex
	obsState *observability.Observability // stats, events, metrics

	reloadMu sync.Mutex
	info     atomic.Pointer[configInfo] // verbose Status's config, per config

	// The list answers' entries, encoded once per object.
	ctrEntries listEntries[*container.Container]
	podEntries listEntries[*sandbox.Sandbox]

	retryOnce sync.Once
	retry     *pending.Creations // creations kept for the kubelet's repeats

	drain drainer // ends the waiting requests at shutdown (drain.go)
}

// New returns a server for the validated config, with the pods and
// containers restored from the state dir.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, logs *logging.Setup) (*Server, error) {
	s := &Server{logs: logs, log: log}
	s.cfg.Store(cfg)
	c := cfg.Crio
	// Before anything is read: a second daemon on the same state would
	// mark the first one's containers lost and remove its pods.
	lock, err := state.LockDir(c.StateDir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	store, err := state.Open(c.StateDir)
	if err != nil {
		_ = lock.Release()
		return nil, err
	}
	s.store = store
	if err := s.wire(cfg, log); err != nil {
		return nil, err
	}
	rctx := logging.WithLogger(ctx, log)
	if err := s.pods.Restore(rctx); err != nil {
		return nil, fmt.Errorf("restore pods: %w", err)
	}
	if err := s.containers.WatchExits(log); err != nil {
		return nil, fmt.Errorf("watch container exits: %w", err)
	}
	if err := s.containers.Restore(rctx); err != nil {
		return nil, fmt.Errorf("restore containers: %w", err)
	}
	s.containers.SweepRuntime(rctx)
	if err := s.initStreaming(ctx); err != nil {
		return nil, err
	}
	if err := s.initObservability(ctx); err != nil {
		return nil, err
	}
	if err := s.nri.Start(nriDomain{s}); err != nil {
		return nil, err
	}
	return s, nil
}

// wire builds the managers, each given what it uses: the pod index comes
// first, so the container manager can read pods and the pod manager can
// stop and remove their containers without either being set up later.
func (s *Server) wire(cfg *config.Config, log *slog.Logger) error {
	c := cfg.Crio
	n := c.Network
	netMgr := network.NewManager(n.NetworkDir, n.CNIDefaultNetwork, n.DefaultSubnet, n.PluginDirs, filepath.Join(c.StateDir, "cni-cache"))
	var err error
	if s.images, err = newImageService(cfg, log); err != nil {
		return err
	}
	s.nri = nri.New(c.NRI, log)
	pods := sandbox.NewPods()
	s.containers = container.NewManager(container.Options{
		RunDir:          filepath.Join(c.RunRoot, "crio", "containers"),
		ExitsDir:        c.Runtime.ContainerExitsDir,
		AttachSocketDir: c.Runtime.ContainerAttachSocketDir,
		DefaultLogDir:   c.LogDir,
		CgroupV2:        cgroupV2(),
		SpecAdjuster:    s.nri,
	}, container.Deps{Config: s.Config, Store: s.store, Pods: pods, Images: s.images, OnChange: s.ContainerChanged})
	s.pods = sandbox.NewManager(sandbox.Options{
		RunDir:        filepath.Join(c.RunRoot, "crio", "pods"),
		NamespacesDir: c.Runtime.NamespacesDir,
		CgroupManager: c.Runtime.CgroupManager,
		NoHostPorts:   c.Runtime.DisableHostPortMapping,
	}, sandbox.Deps{Pods: pods, Store: s.store, Network: netMgr, Containers: s.containers})
	return nil
}

// Config returns the running config. Callers must not modify it: a reload
// swaps in a new one.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// StorageDriver is the storage driver in use.
func (s *Server) StorageDriver() string {
	if st := s.images.Store(); st != nil {
		return st.GraphDriverName()
	}
	return s.Config().Crio.StorageDriver
}

// Register adds both CRI services to g, each request validated first
// (see validate_request.go).
func (s *Server) Register(g *grpc.Server) {
	registerValidated(g, &runtimeapi.RuntimeService_ServiceDesc, runtimeapi.RuntimeServiceServer(s))
	registerValidated(g, &runtimeapi.ImageService_ServiceDesc, runtimeapi.ImageServiceServer(s))
}

// Reload applies the reloadable options of next and logs each change.
func (s *Server) Reload(next *config.Config) []config.Change {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cur := s.Config().Clone()
	changes := cur.Reload(next)
	// Log before applying: a new, higher level would hide these lines.
	for _, ch := range changes {
		s.log.Info("config reloaded", "key", ch.Key, "old", ch.Old, "new", ch.New)
	}
	for _, ch := range changes {
		switch ch.Key {
		case "crio.runtime.log_level":
			if err := s.logs.SetLevel(cur.Crio.Runtime.LogLevel); err != nil {
				s.log.Error("reload: keeping the log level", "error", err)
			}
		case "crio.runtime.log_filter":
			if err := s.logs.SetFilter(cur.Crio.Runtime.LogFilter); err != nil {
				s.log.Error("reload: keeping the log filter", "error", err)
			}
		}
	}
	s.cfg.Store(cur)
	return changes
}

// Shutdown releases what the server holds, users before what they use:
// streams and observability (which read containers), then the exit
// watcher and the spare monitors and layers, then the image store, and the
// state lock last. Containers and pods keep running: they outlive the
// daemon.
func (s *Server) Shutdown() error {
	s.nri.Stop()
	s.shutdownStreaming()
	s.shutdownObservability()
	if s.containers != nil {
		s.containers.StopWatching()
		s.containers.CloseSpares()
	}
	var err error
	if s.images != nil {
		err = s.images.Shutdown()
	}
	if rerr := s.lock.Release(); err == nil {
		err = rerr
	}
	return err
}

func newImageService(cfg *config.Config, log *slog.Logger) (*image.Service, error) {
	c := cfg.Crio
	svc, err := image.New(image.Options{
		Root: c.Root, RunRoot: c.RunRoot, ImageStore: c.ImageStore, Driver: c.StorageDriver, DriverOptions: c.StorageOption,
		RegistriesConf: c.Image.RegistriesConf, RegistriesConfDir: c.Image.RegistriesConfDir,
		SignaturePolicy: c.Image.SignaturePolicy, GlobalAuthFile: c.Image.GlobalAuthFile,
		PinnedImages: c.Image.PinnedImages, PullProgressTimeout: c.Image.PullProgressTimeout.Duration,
		ShortNameMode: c.Image.ShortNameMode, InsecureRegistries: c.Image.InsecureRegistries,
		Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return svc, nil
}

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
	srv, err := streaming.New(cfg, s.pods.ReadyNetNS, s.log)
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

// streamingUnavailable is returned when the streaming server is not running.
func streamingUnavailable() error { return errdefs.Unavailable("streaming server is not running") }

// cgroupV2 reports a pure cgroup v2 host (not the hybrid v1 + unified layout).
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// initObservability starts stats, events and metrics. Call it at the end
// of New, after the containers are restored: what exists then is the
// events' baseline.
func (s *Server) initObservability(ctx context.Context) error {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	if s.obsState != nil {
		return nil
	}
	o, err := s.startObservability(ctx, true)
	if err != nil {
		return err
	}
	s.obsState = o
	return nil
}

func (s *Server) startObservability(ctx context.Context, endpoint bool) (*observability.Observability, error) {
	return observability.Start(ctx, observability.Options{
		Config: s.Config, Log: s.log, Pods: s.pods, Containers: s.containers, Images: s.images,
		CodeOf:    func(err error) codes.Code { return status.Code(toStatus(err)) },
		PodStatus: podStatus, ContainerStatus: containerStatus, OnContainerStopped: s.nriExited,
	}, endpoint)
}

// obs returns the server's observability, starting it on first use if
// New did not.
func (s *Server) obs() *observability.Observability {
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
		o, _ = s.startObservability(context.Background(), false)
		s.obsState = o
	}
	return o
}

// shutdownObservability stops what initObservability started.
func (s *Server) shutdownObservability() {
	s.obsMu.Lock()
	o := s.obsState
	s.obsState = nil
	s.obsMu.Unlock()
	if o != nil {
		o.Stop()
	}
}

// ContainerChanged tells the event feed that a container was created,
// started, exited or removed, so its event goes out now. Safe to call
// from any goroutine; it never blocks.
func (s *Server) ContainerChanged() {
	s.obsMu.Lock()
	o := s.obsState
	s.obsMu.Unlock()
	if o != nil { // else not started yet (exits applied during restore): the baseline includes them
		o.Kick()
	}
}

// creations are the pod and container creations kept for the kubelet's
// repeats (see internal/pending).
func (s *Server) creations() *pending.Creations {
	s.retryOnce.Do(func() {
		s.retry = pending.NewCreations(pending.CreationsOptions{
			Log: s.log, Stalled: func(stage string) { s.obs().Metrics().Stalled(stage) },
			DiscardPod: s.discardUnclaimedPod, DiscardContainer: s.discardUnclaimedContainer,
		})
	})
	return s.retry
}

// discardPod removes a pod no client got, and its log link.
func (s *Server) discardPod(ctx context.Context, id string) error {
	if sb, ok := s.pods.Lookup(id); ok {
		s.links().UnmountPod(ctx, sb) // mounted before the pod was handed out
	}
	return s.pods.Discard(ctx, id)
}

// links mounts and links the logs of pods with the link-logs annotation.
func (s *Server) links() linklogs.Linker {
	return linklogs.Linker{Config: s.Config, CgroupV2: cgroupV2()}
}

// TransportOptions tune the gRPC server for its clients on the local
// socket. Static flow-control windows turn off grpc-go's bandwidth-delay
// estimator, which pings the client after a request it reads whenever no
// ping is out: on a call that finds the daemon idle (the kubelet's polls,
// critest's status calls) that is one more frame out, one in and another
// wake-up, for a window that a socket with no delay never needs to grow.
// 1 MiB lets the largest requests in without waiting for window updates.
func TransportOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.StaticStreamWindowSize(1 << 20), grpc.StaticConnWindowSize(1 << 20)}
}
