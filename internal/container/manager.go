package container

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/containers/storage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/sandbox"
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

// Manager owns all containers.
type Manager struct {
	opts   Options
	cfg    func() *config.Config
	store  *state.Store
	pods   *sandbox.Manager
	images *image.Service
	index  *state.Index[*Container]

	names *state.Names

	runtimesMu sync.Mutex
	runtimes   map[string]*oci.Runtime

	exits *exitWatcher
	// OnChange, if set, is called after an exit record was applied, so
	// events go out at once rather than at the next poll.
	OnChange func()

	// spares holds writable layers made ahead of use (overlay only: a vfs
	// layer is a full copy of the image); nil when off.
	spares *spares

	// hostWarned holds the host warnings already logged (logHostWarnings).
	hostWarned sync.Map

	pauseOnce sync.Once
	pauseDir  string
	pauseErr  error
}

// NewManager returns a manager; Restore loads the records.
func NewManager(opts Options, cfg func() *config.Config, store *state.Store, pods *sandbox.Manager, images *image.Service) *Manager {
	m := &Manager{
		opts: opts, cfg: cfg, store: store, pods: pods, images: images,
		index: state.NewIndex[*Container](), names: state.NewNames(), runtimes: map[string]*oci.Runtime{},
	}
	pods.Hooks = sandbox.ContainerHooks{StopAll: m.stopPod, RemoveAll: m.removePod, StartInfra: m.StartInfra, StopInfra: m.StopInfra}
	if d := images.Store().GraphDriverName(); d == "overlay" || d == "overlay2" {
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
		return nil, status.Errorf(codes.InvalidArgument, "runtime handler %q is not configured", handler)
	}
	r, err := oci.NewRuntime(handler, h, m.systemdCgroups())
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%v", err)
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
			return nil, status.Errorf(codes.InvalidArgument, "container id %v", err)
		}
		return nil, status.Errorf(codes.NotFound, "container %q not found", idOrPrefix)
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
	if m.spares != nil {
		m.spares.drop(imageID)
	}
}

// CloseSpares ends the monitors launched ahead and deletes the spare
// layers; the daemon calls it on shutdown.
func (m *Manager) CloseSpares() {
	m.runtimesMu.Lock()
	for _, r := range m.runtimes {
		r.Close()
	}
	m.runtimesMu.Unlock()
	if m.spares != nil {
		m.spares.close()
	}
}

func (m *Manager) reserve(key, id string) error {
	if other, err := m.names.Reserve(key, id); err != nil {
		return status.Errorf(codes.AlreadyExists, "container name %s is already in use by %s", key, other)
	}
	return nil
}

func (m *Manager) release(key, id string) { m.names.Release(key, id) }

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (m *Manager) persist(c *Container) error {
	if err := m.store.Put(recordKind, c.ID, c); err != nil {
		return fmt.Errorf("persist container %s: %w", c.ID, err)
	}
	return nil
}

// persistAsync writes c's record while the caller waits on the runtime; the
// returned func waits for the write. Every write happens under c.mu and
// encodes the record as it is then, so the last one on disk is the newest.
func (m *Manager) persistAsync(c *Container) func() error {
	done := make(chan error, 1)
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		done <- m.persist(c)
	}()
	return func() error { return <-done }
}

// Status returns the container after applying any exit record, so a status
// read right after an exit never shows a stale RUNNING.
func (m *Manager) Status(id string) (*Container, error) {
	c, err := m.Get(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	_, _ = m.readExitLocked(c)
	c.mu.Unlock()
	return c, nil
}

// Snapshot lists the containers for list RPCs (exit records are applied by
// the watcher, so no file is read per container).
func (m *Manager) Snapshot() []*Container { return visible(m.index.List()) }

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
		return "", status.Errorf(codes.InvalidArgument, "cgroup parent: %v", err)
	}
	return cp, nil
}

// nameKey is the name a container reserves: unique per pod and attempt.
func nameKey(name, podID string, attempt uint32) string {
	return fmt.Sprintf("%s_%s_%d", name, podID, attempt)
}
