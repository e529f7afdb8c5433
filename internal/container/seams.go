package container

import (
	"context"
	"errors"
	"syscall"

	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// The manager reaches the runtime, the image store and the pods through
// these small interfaces, so the undo and restore paths run in unit tests
// with fakes (no root, no runc, no storage).

// ociRuntime is what a container's life asks of its handler's runtime:
// create through a monitor, start, kill, delete and state.
type ociRuntime interface {
	// Launch starts a monitor ahead of its container; CreateWith or the
	// monitor's Abort must follow.
	Launch() (launchedMonitor, error)
	CreateWith(ctx context.Context, mon launchedMonitor, cfg *monitor.Config) (monitor.StartResult, error)
	// Start runs the created container whose init process is pid.
	Start(ctx context.Context, id string, pid int) error
	Kill(ctx context.Context, id string, sig syscall.Signal) error
	// PastInit: the init process pid runs the container's own command.
	PastInit(pid int) bool
	Delete(ctx context.Context, id string) error
	State(ctx context.Context, id string) (*oci.State, error)
	// StartedPerState: the runtime's state of the stopped container id
	// shows its process was started (false: not, or not known).
	StartedPerState(id string) bool
	// Prelaunch starts the next create's monitor ahead of time.
	Prelaunch()
}

// launchedMonitor is a monitor waiting for its container's config.
type launchedMonitor interface{ Abort() }

// ociOps serves ociRuntime with a handler's *oci.Runtime.
type ociOps struct{ *oci.Runtime }

func (r ociOps) Launch() (launchedMonitor, error) {
	p, err := r.Runtime.Launch()
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (r ociOps) CreateWith(ctx context.Context, mon launchedMonitor, cfg *monitor.Config) (monitor.StartResult, error) {
	p, ok := mon.(*monitor.Pending)
	if !ok {
		return monitor.StartResult{}, errors.New("monitor was not launched by this runtime")
	}
	return r.Runtime.CreateWith(ctx, p, cfg)
}

// ociRuntimeOf is the manager's runtimeFor: handler's *oci.Runtime.
func (m *Manager) ociRuntimeOf(handler string) (ociRuntime, error) {
	rt, err := m.Runtime(handler)
	if err != nil {
		return nil, err
	}
	return ociOps{rt}, nil
}

// PodLookup finds a pod by id or unique prefix (*sandbox.Pods).
type PodLookup interface {
	Get(idOrPrefix string) (*sandbox.Sandbox, error)
}

// imageLayers is what creates and removes ask of the image store: an
// image's facts, the container's writable layer (its rootfs) and the
// read-only mounts of images used as volumes.
type imageLayers interface {
	ForContainer(ctx context.Context, ref string) (*image.ContainerImage, error)
	// CreateLayer's layer is shifted into u, the pod's user namespace (nil: none).
	CreateLayer(id, imageID string, u *sandbox.Userns) (mountPoint string, err error)
	DeleteLayer(id string) error
	MountImage(imageID string) (mountPoint string, err error)
	UnmountImage(imageID string)
}

// storeLayers serves imageLayers with the image service's store.
type storeLayers struct{ *image.Service }

func (s storeLayers) CreateLayer(id, imageID string, u *sandbox.Userns) (string, error) {
	return makeLayer(s.Store(), id, imageID, "", layerOptions(u))
}

func (s storeLayers) DeleteLayer(id string) error { return dropLayer(s.Store(), id) }

func (s storeLayers) MountImage(imageID string) (string, error) {
	return s.Store().MountImage(imageID, []string{"ro"}, "")
}

func (s storeLayers) UnmountImage(imageID string) { _, _ = s.Store().UnmountImage(imageID, false) }
