package container

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/containers/storage"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/pkg/config"
)

const recordKind = "containers"

// Options are the manager's fixed paths and host facts.
type Options struct {
	RunDir          string // bundles: RunDir/<id>
	ExitsDir        string
	AttachSocketDir string
	DefaultLogDir   string
	CgroupV2        bool
	// SpecAdjuster, if set, adjusts each generated spec (NRI).
	SpecAdjuster SpecAdjuster
}

// Deps are what the manager works with, all given at construction.
type Deps struct {
	Config func() *config.Config // the running config (changes on reload)
	Store  *state.Store
	Pods   PodLookup
	Images *image.Service
	// OnChange, if set, is called after an exit was recorded, so events
	// go out at once rather than at the next poll.
	OnChange func()
}

// Manager owns all containers.
type Manager struct {
	opts   Options
	cfg    func() *config.Config
	store  *state.Store
	pods   PodLookup
	images *image.Service
	layers imageLayers
	index  *state.Index[*Container]
	// runtimeFor is a handler's runtime for a container's life
	// (ociRuntimeOf; a fake in unit tests).
	runtimeFor func(handler string) (ociRuntime, error)
	// afterStep, set only by tests, may fail a create after its named step.
	afterStep func(step string) error

	names *state.Names

	runtimesMu sync.Mutex
	runtimes   map[string]*oci.Runtime

	exits    *exitWatcher
	onChange func()

	// spares holds writable layers made ahead of use (overlay only: a vfs
	// layer is a full copy of the image); nil when off.
	spares *spares
	// reaps are removed containers' deletions still running (reap.go).
	reaps reaps
	// startWrites counts the start records not yet written (see Start).
	startWrites sync.WaitGroup

	// prepareDelay is how long after a start the next create's monitor and
	// layer are made (afterStartDelay when 0; tests set it).
	prepareDelay time.Duration

	// hostWarned holds the host warnings already logged (logHostWarnings).
	hostWarned sync.Map

	pauseOnce sync.Once
	pauseDir  string
	pauseErr  error
}

// NewManager returns a manager; Restore loads the records.
func NewManager(opts Options, deps Deps) *Manager {
	m := &Manager{
		opts: opts, cfg: deps.Config, store: deps.Store, pods: deps.Pods, images: deps.Images,
		layers: storeLayers{deps.Images}, onChange: deps.OnChange,
		index: state.NewIndex[*Container](), names: state.NewNames(), runtimes: map[string]*oci.Runtime{},
	}
	m.runtimeFor = m.ociRuntimeOf
	if d := deps.Images.Store().GraphDriverName(); d == "overlay" || d == "overlay2" {
		m.spares = newSpares(m.storage, slog.Default())
	}
	return m
}

func (m *Manager) storage() storage.Store { return m.images.Store() }

// Runtime returns the handler's runtime, resolving its binaries once.
func (m *Manager) Runtime(handler string) (*oci.Runtime, error) {
	m.runtimesMu.Lock()
	defer m.runtimesMu.Unlock()
	if r, ok := m.runtimes[handler]; ok {
		return r, nil
	}
	h, ok := m.cfg().Crio.Runtime.Runtimes[handler]
	if !ok {
		return nil, errdefs.Invalid("", "runtime handler %q is not configured", handler)
	}
	r, err := oci.NewRuntime(handler, h, m.systemdCgroups())
	if err != nil {
		return nil, errdefs.FailedPrecondition("%w", err)
	}
	m.runtimes[handler] = r
	return r, nil
}

// Get resolves an id or unique prefix.
func (m *Manager) Get(idOrPrefix string) (*Container, error) {
	_, c, err := m.index.Resolve(idOrPrefix)
	if err == nil && c.hidden.Load() {
		err = state.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, state.ErrAmbiguous) {
			return nil, errdefs.Invalid("", "container id %w", err)
		}
		return nil, errdefs.NotFound("container %q not found", idOrPrefix)
	}
	return c, nil
}

// List returns all containers ordered by id.
func (m *Manager) List() []*Container { return visible(m.index.List()) }

// ImageInUse tells the image service which container uses an image.
func (m *Manager) ImageInUse(imageID string) (string, bool) {
	for _, c := range m.index.List() {
		if c.ImageID == imageID || slices.Contains(c.ImageMounts, imageID) {
			return c.Metadata().GetName() + " (" + c.ID + ")", true
		}
	}
	return "", false
}

// ReleaseImage drops what the manager keeps made from an image (its spare
// layer), so the image can be removed.
func (m *Manager) ReleaseImage(imageID string) {
	m.reaps.waitImage(imageID) // layers of removed containers still going
	if m.spares != nil {
		m.spares.drop(imageID)
	}
}

// CloseSpares ends the monitors launched ahead, finishes the removals
// still in the background (at once, without their delay) and deletes the
// spare layers; the daemon calls it on shutdown. It also waits for the
// start records still due (at most afterStartDelay), so a restart keeps
// their start times.
func (m *Manager) CloseSpares() {
	m.startWrites.Wait()
	m.runtimesMu.Lock()
	for _, r := range m.runtimes {
		r.Close()
	}
	m.runtimesMu.Unlock()
	m.reaps.waitAll() // without their delay
	if m.spares != nil {
		m.spares.close()
	}
	m.reaps.wg.Wait()
}

func (m *Manager) reserve(key, id string) error {
	if other, err := m.names.Reserve(key, id); err != nil {
		return errdefs.AlreadyExists("container name %s is already in use by %s", key, other)
	}
	return nil
}

func (m *Manager) release(key, id string) { m.names.Release(key, id) }

// changed tells the server a container's state changed (see Deps.OnChange).
func (m *Manager) changed() {
	if m.onChange != nil {
		m.onChange()
	}
}

// Status returns the container after applying any exit record, so a status
// read right after an exit never shows a stale RUNNING.
func (m *Manager) Status(id string) (*Container, error) {
	c, err := m.Get(id)
	if err != nil {
		return nil, err
	}
	_, _ = m.applyExit(c)
	return c, nil
}

// Snapshot lists the containers for list RPCs (exit records are applied by
// the watcher, so no file is read per container).
func (m *Manager) Snapshot() []*Container { return visible(m.index.List()) }

// createTimeout bounds a runtime create of handler's: its
// container_create_timeout (at least 30 s), or 0 for the default.
func (m *Manager) createTimeout(handler string) time.Duration {
	if h := m.cfg().Crio.Runtime.Runtimes[handler]; h != nil && h.ContainerCreateTimeout > 0 {
		return time.Duration(max(h.ContainerCreateTimeout, 30)) * time.Second
	}
	return 0
}

// systemdCgroups: with cgroup_manager = "systemd" where systemd runs, the
// runtime asks systemd for cgroups; elsewhere the slice names are laid out
// in cgroupfs by hostCgroupsPath.
func (m *Manager) systemdCgroups() bool {
	return m.cfg().Crio.Runtime.CgroupManager == "systemd" && oci.SystemdRunning()
}

// hostCgroupsPath turns the spec's cgroups path into what the runtime can
// use on this host.
func (m *Manager) hostCgroupsPath(p string) (string, error) {
	if m.cfg().Crio.Runtime.CgroupManager != "systemd" || m.systemdCgroups() {
		return p, nil
	}
	cp, err := oci.CgroupfsPath(p)
	if err != nil {
		return "", errdefs.Invalid("", "cgroup parent: %w", err)
	}
	return cp, nil
}

// nameKey is the name a container reserves: unique per pod and attempt.
func nameKey(name, podID string, attempt uint32) string {
	return fmt.Sprintf("%s_%s_%d", name, podID, attempt)
}
