package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/pkg/config"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// Hand-written fakes of the runtime, the image store and the pods, so the
// manager's create, undo and restore paths run without root or runc.

// fakeRuntime keeps runtime containers in a map: id -> status.
type fakeRuntime struct {
	mu         sync.Mutex
	containers map[string]string
	started    map[string]bool // ids started (runc: no exec fifo left)
	launched   []*fakeMonitor
	failLaunch error
	failCreate error
	killed     []string
	// prelaunched counts Prelaunch calls; states counts State calls.
	prelaunched atomic.Int32
	states      atomic.Int32
}

type fakeMonitor struct{ aborted, sent bool }

func (f *fakeMonitor) Abort() { f.aborted = true }

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{containers: map[string]string{}, started: map[string]bool{}}
}

func (f *fakeRuntime) Launch() (launchedMonitor, error) {
	if f.failLaunch != nil {
		return nil, f.failLaunch
	}
	mon := &fakeMonitor{}
	f.launched = append(f.launched, mon)
	return mon, nil
}

func (f *fakeRuntime) CreateWith(_ context.Context, mon launchedMonitor, cfg *monitor.Config) (monitor.StartResult, error) {
	mon.(*fakeMonitor).sent = true
	f.mu.Lock()
	defer f.mu.Unlock()
	// As the real monitor does, a failed create may leave the runtime's
	// container behind: the caller deletes it.
	f.containers[cfg.ID] = "created"
	if f.failCreate != nil {
		return monitor.StartResult{}, f.failCreate
	}
	return monitor.StartResult{PID: os.Getpid(), MonitorPID: os.Getpid()}, nil
}

func (f *fakeRuntime) Start(_ context.Context, id string, _ int) error {
	f.mu.Lock()
	f.started[id] = true
	f.mu.Unlock()
	return f.set(id, "running")
}

func (f *fakeRuntime) StartedPerState(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.containers[id]
	return ok && f.started[id]
}

func (f *fakeRuntime) Kill(_ context.Context, id string, _ syscall.Signal) error {
	f.mu.Lock()
	f.killed = append(f.killed, id)
	f.mu.Unlock()
	return f.set(id, "stopped")
}

func (f *fakeRuntime) PastInit(int) bool { return false }

func (f *fakeRuntime) set(id, status string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[id]; !ok {
		return oci.ErrNotExist
	}
	f.containers[id] = status
	return nil
}

func (f *fakeRuntime) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	delete(f.containers, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeRuntime) State(_ context.Context, id string) (*oci.State, error) {
	f.states.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.containers[id]
	if !ok {
		return nil, oci.ErrNotExist
	}
	return &oci.State{Status: st}, nil
}

func (f *fakeRuntime) Prelaunch() { f.prelaunched.Add(1) }

// fakeLayers makes each layer a directory and counts image mounts.
type fakeLayers struct {
	dir        string
	mounts     map[string]int
	failLayer  error
	failMount  string // image id whose mount fails
	imageByRef map[string]string
}

func (f *fakeLayers) ForContainer(_ context.Context, ref string) (*image.ContainerImage, error) {
	id, ok := f.imageByRef[ref]
	if !ok {
		return nil, errors.New("no such image")
	}
	return &image.ContainerImage{ID: id, Ref: ref, Name: ref}, nil
}

func (f *fakeLayers) CreateLayer(id, _ string, _ *sandbox.Userns) (string, error) {
	if f.failLayer != nil {
		return "", f.failLayer
	}
	p := filepath.Join(f.dir, id)
	return p, os.MkdirAll(filepath.Join(p, "etc"), 0o755)
}

func (f *fakeLayers) DeleteLayer(id string) error { return os.RemoveAll(filepath.Join(f.dir, id)) }

func (f *fakeLayers) MountImage(imageID string) (string, error) {
	if imageID == f.failMount {
		return "", errors.New("mount refused")
	}
	f.mounts[imageID]++
	return filepath.Join(f.dir, "image-"+imageID), nil
}

func (f *fakeLayers) UnmountImage(imageID string) {
	if f.mounts[imageID]--; f.mounts[imageID] == 0 {
		delete(f.mounts, imageID)
	}
}

type fakePods map[string]*sandbox.Sandbox

func (f fakePods) Get(id string) (*sandbox.Sandbox, error) {
	if sb, ok := f[id]; ok {
		return sb, nil
	}
	return nil, errors.New("pod not found")
}

// testManager is a manager over fakes, with its dirs under a temp dir.
type testManager struct {
	*Manager
	rt     *fakeRuntime
	layers *fakeLayers
	dir    string
}

func newTestManager(t *testing.T) *testManager {
	t.Helper()
	dir := t.TempDir()
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Crio.Runtime.CgroupManager = "cgroupfs"
	cfg.Crio.Runtime.DefaultMountsFile = filepath.Join(dir, "no-mounts.conf")
	cfg.Crio.Runtime.Timezone = ""
	tm := &testManager{
		rt:     newFakeRuntime(),
		layers: &fakeLayers{dir: filepath.Join(dir, "layers"), mounts: map[string]int{}, imageByRef: map[string]string{"busybox": "img1", "vol": "img2", "badvol": "img3"}},
		dir:    dir,
	}
	sb := &sandbox.Sandbox{ID: "pod1", Ready: true, RuntimeHandler: cfg.Crio.Runtime.DefaultRuntime, Hostname: "pod1",
		Config: &sandbox.PodConfig{PodSandboxConfig: &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "u"}, LogDirectory: filepath.Join(dir, "logs"),
		}}}
	tm.Manager = &Manager{
		opts: Options{
			RunDir: filepath.Join(dir, "run"), ExitsDir: filepath.Join(dir, "exits"),
			AttachSocketDir: filepath.Join(dir, "attach"), DefaultLogDir: filepath.Join(dir, "logs"),
		},
		cfg: func() *config.Config { return cfg }, store: store, pods: fakePods{"pod1": sb}, layers: tm.layers,
		index: state.NewIndex[*Container](), names: state.NewNames(), runtimes: map[string]*oci.Runtime{},
		runtimeFor: func(string) (ociRuntime, error) { return tm.rt, nil },
	}
	return tm
}
