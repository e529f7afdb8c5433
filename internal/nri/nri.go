// Package nri runs NRI (Node Resource Interface, github.com/containerd/nri)
// for the daemon: the plugin socket, pre-installed plugins, synchronisation
// of plugins with the pods and containers that exist, the pod and container
// events in order, and the adjustments, updates and evictions plugins ask
// for. The NRI adaptation owns the plugins and their timeouts; this package
// converts our records to its types and applies what it returns.
package nri

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/containerd/nri/pkg/adaptation"
	nrilog "github.com/containerd/nri/pkg/log"
	validator "github.com/containerd/nri/plugins/default-validator/builtin"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/version"
	"github.com/crio-runtime/crio/pkg/config"
)

// Domain is what NRI needs from the daemon: the pods and containers a
// plugin is synchronised with, and the ways to change or stop a container
// that plugins may ask for unsolicited.
type Domain interface {
	Pods() []*sandbox.Sandbox
	Containers() []*container.Container
	Pod(id string) (*sandbox.Sandbox, bool)
	// UpdateContainer applies resources the way UpdateContainerResources does.
	UpdateContainer(ctx context.Context, id string, r *runtimeapi.LinuxContainerResources) error
	// EvictContainer stops a container a plugin evicted.
	EvictContainer(ctx context.Context, id, reason string) error
	// CDISpecDirs are where the CDI devices a plugin adds are resolved.
	CDISpecDirs() []string
}

// API is the daemon's side of NRI. A nil *API, or one built from a config
// with enable_nri = false, does nothing and fails nothing.
type API struct {
	cfg config.NRIConfig
	log *slog.Logger

	mu    sync.Mutex
	adapt *adaptation.Adaptation
	dom   Domain
	// stops holds, per container, a channel closed once the plugins heard
	// of its stop: the stop goes out once, before its removal.
	stops map[string]chan struct{}
}

// New returns the API for cfg; Start brings up the plugins.
func New(cfg config.NRIConfig, log *slog.Logger) *API {
	if !cfg.EnableNRI {
		return nil
	}
	return &API{cfg: cfg, log: log.With("component", "nri"), stops: map[string]chan struct{}{}}
}

// Enabled reports whether NRI runs.
func (a *API) Enabled() bool { return a != nil && a.current() != nil }

func (a *API) current() *adaptation.Adaptation {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.adapt
}

// Start starts the pre-installed plugins, synchronises them with dom and
// opens the socket for external plugins.
func (a *API) Start(dom Domain) error {
	if a == nil {
		return nil
	}
	nrilog.Set(slogAdapter{a.log})
	adaptation.SetPluginRegistrationTimeout(a.cfg.NRIPluginRegistrationTimeout.Duration)
	adaptation.SetPluginRequestTimeout(a.cfg.NRIPluginRequestTimeout.Duration)
	v := a.cfg.DefaultValidator
	opts := []adaptation.Option{
		adaptation.WithPluginPath(a.cfg.NRIPluginDir),
		adaptation.WithPluginConfigPath(a.cfg.NRIPluginConfigDir),
		adaptation.WithSocketPath(a.cfg.NRIListen),
		adaptation.WithDefaultValidator(&validator.DefaultValidatorConfig{
			Enable:                                v.Enable,
			RejectOCIHookAdjustment:               v.RejectOCIHookAdjustment,
			RejectRuntimeDefaultSeccompAdjustment: v.RejectRuntimeDefaultSeccompAdjustment,
			RejectUnconfinedSeccompAdjustment:     v.RejectUnconfinedSeccompAdjustment,
			RejectCustomSeccompAdjustment:         v.RejectCustomSeccompAdjustment,
			RejectNamespaceAdjustment:             v.RejectNamespaceAdjustment,
			RequiredPlugins:                       v.RequiredPlugins,
			TolerateMissingAnnotation:             v.TolerateMissingPluginsAnnotation,
		}),
	}
	if a.cfg.NRIDisableConnections {
		opts = append(opts, adaptation.WithDisabledExternalConnections())
	}
	a.dom = dom
	ad, err := adaptation.New("crio", version.Version, a.synchronize, a.updateContainers, opts...)
	if err != nil {
		return fmt.Errorf("nri: %w", err)
	}
	if err := ad.Start(); err != nil {
		return fmt.Errorf("nri: start: %w", err)
	}
	a.mu.Lock()
	a.adapt = ad
	a.mu.Unlock()
	a.log.Info("NRI started", "socket", a.cfg.NRIListen, "plugin_dir", a.cfg.NRIPluginDir, "external", !a.cfg.NRIDisableConnections)
	return nil
}

// Stop stops the plugins and closes the socket.
func (a *API) Stop() {
	ad := a.current()
	if ad == nil {
		return
	}
	ad.Stop()
}

// BlockSync holds off the synchronisation of a newly connected plugin
// until the returned function is called: a pod or container in creation
// is then either in the plugin's synchronisation set or gets its events.
func (a *API) BlockSync() func() {
	ad := a.current()
	if ad == nil {
		return func() {}
	}
	b := ad.BlockPluginSync()
	return b.Unblock
}

// synchronize lists the published pods and containers for a plugin.
func (a *API) synchronize(ctx context.Context, cb adaptation.SyncCB) error {
	var pods []*adaptation.PodSandbox
	for _, sb := range a.dom.Pods() {
		pods = append(pods, podToNRI(sb))
	}
	var ctrs []*adaptation.Container
	for _, c := range a.dom.Containers() {
		ctrs = append(ctrs, ctrToNRI(c, c.Spec()))
	}
	updates, err := cb(ctx, pods, ctrs)
	if err != nil {
		return err
	}
	a.applyUpdates(ctx, updates)
	return nil
}

// updateContainers applies a plugin's unsolicited updates; it returns the
// ones that failed.
func (a *API) updateContainers(ctx context.Context, updates []*adaptation.ContainerUpdate) ([]*adaptation.ContainerUpdate, error) {
	return a.applyUpdates(ctx, updates), nil
}

func (a *API) applyUpdates(ctx context.Context, updates []*adaptation.ContainerUpdate) []*adaptation.ContainerUpdate {
	var failed []*adaptation.ContainerUpdate
	for _, u := range updates {
		r := u.GetLinux().GetResources()
		if u == nil || r == nil {
			continue
		}
		if err := a.dom.UpdateContainer(ctx, u.ContainerId, nriToCRI(r)); err != nil {
			if !u.IgnoreFailure {
				a.log.Warn("NRI container update failed", "container", u.ContainerId, "error", err)
				failed = append(failed, u)
			}
			continue
		}
		a.log.Info("NRI plugin updated container", "container", u.ContainerId)
	}
	return failed
}

func (a *API) applyEvictions(ctx context.Context, evict []*adaptation.ContainerEviction) {
	for _, e := range evict {
		a.log.Info("NRI plugin evicts container", "container", e.ContainerId, "reason", e.Reason)
		if err := a.dom.EvictContainer(ctx, e.ContainerId, e.Reason); err != nil {
			a.log.Warn("NRI eviction failed", "container", e.ContainerId, "error", err)
		}
	}
}

// slogAdapter routes the NRI library's log lines to the daemon's logger.
type slogAdapter struct{ l *slog.Logger }

func (s slogAdapter) Debugf(ctx context.Context, f string, args ...any) {
	s.l.DebugContext(ctx, fmt.Sprintf(f, args...))
}
func (s slogAdapter) Infof(ctx context.Context, f string, args ...any) {
	s.l.InfoContext(ctx, fmt.Sprintf(f, args...))
}
func (s slogAdapter) Warnf(ctx context.Context, f string, args ...any) {
	s.l.WarnContext(ctx, fmt.Sprintf(f, args...))
}
func (s slogAdapter) Errorf(ctx context.Context, f string, args ...any) {
	msg := fmt.Sprintf(f, args...)
	if strings.Contains(msg, adaptation.ErrWasmDisabled.Error()) {
		// Built with nri_no_wasm on purpose: no error to report.
		s.l.DebugContext(ctx, msg)
		return
	}
	s.l.ErrorContext(ctx, msg)
}
