// Package server implements the CRI RuntimeService and ImageService: one file
// per RPC, each validating its input, delegating to internal/*, and answering.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/network"
	"github.com/crio-runtime/crio/internal/nri"
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
	obsState *observability // stats, events, metrics; see observability.go

	reloadMu sync.Mutex

	retry retries // creations kept for the kubelet's repeats; see create_retry.go
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
	n := c.Network
	netMgr := network.NewManager(n.NetworkDir, n.CNIDefaultNetwork, n.DefaultSubnet, n.PluginDirs, filepath.Join(c.StateDir, "cni-cache"))
	s.pods = sandbox.NewManager(sandbox.Options{
		RunDir:        filepath.Join(c.RunRoot, "crio", "pods"),
		NamespacesDir: c.Runtime.NamespacesDir,
		CgroupManager: c.Runtime.CgroupManager,
		NoHostPorts:   c.Runtime.DisableHostPortMapping,
	}, store, netMgr)
	s.nri = nri.New(c.NRI, log)
	if s.images, err = newImageService(cfg, log); err != nil {
		return nil, err
	}
	s.containers = container.NewManager(container.Options{
		RunDir:          filepath.Join(c.RunRoot, "crio", "containers"),
		ExitsDir:        c.Runtime.ContainerExitsDir,
		AttachSocketDir: c.Runtime.ContainerAttachSocketDir,
		DefaultLogDir:   c.LogDir,
		CgroupV2:        cgroupV2(),
		SpecAdjuster:    s.nri,
	}, s.Config, store, s.pods, s.images)
	s.images.SetInUseFunc(s.containers.ImageInUse)
	s.images.SetReleaseFunc(s.containers.ReleaseImage)
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
	s.containers.OnChange = s.ContainerChanged
	if err := s.nri.Start(nriDomain{s}); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the running config. Callers must not modify it: a reload
// swaps in a new one.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// Register adds both CRI services to g.
func (s *Server) Register(g *grpc.Server) {
	runtimeapi.RegisterRuntimeServiceServer(g, s)
	runtimeapi.RegisterImageServiceServer(g, s)
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

// Shutdown releases what the server holds (stores, watchers).
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

// cgroupV2 reports a pure cgroup v2 host (not the hybrid v1 + unified layout).
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}
