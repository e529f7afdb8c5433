package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/state"
)

// fakeContainers stands in for the container manager.
type fakeContainers struct {
	startInfraErr error
	stoppedInfra  []string
	reaps         []func() error // ReapPod's cleanups, held until a test runs them
	entered       chan struct{}  // closed when StartInfra is called, if set
}

func (f *fakeContainers) StopPodContainers(context.Context, string) error   { return nil }
func (f *fakeContainers) RemovePodContainers(context.Context, string) error { return nil }
func (f *fakeContainers) StartInfra(context.Context, *Sandbox) (int, uint64, error) {
	if f.entered != nil {
		close(f.entered)
	}
	return 0, 0, f.startInfraErr
}

func (f *fakeContainers) ReapInfra(context.Context, *Sandbox) {}

func (f *fakeContainers) ReapPod(_ context.Context, _ string, cleanup func() error) {
	f.reaps = append(f.reaps, cleanup)
}

func (f *fakeContainers) StopInfra(_ context.Context, sb *Sandbox) error {
	f.stoppedInfra = append(f.stoppedInfra, sb.ID)
	return nil
}

// newTestManager is a pod manager over a temp dir; its pods use the host's
// network and IPC, so a Run needs no root (no namespaces, no CNI, no shm).
func newTestManager(t *testing.T) (*Manager, *fakeContainers, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeContainers{}
	m := NewManager(Options{RunDir: filepath.Join(dir, "pods"), NamespacesDir: filepath.Join(dir, "ns"), CgroupManager: "cgroupfs"},
		Deps{Pods: NewPods(), Store: store, Containers: fc})
	return m, fc, dir
}

func hostPodCfg(pid runtimeapi.NamespaceMode) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "u"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE, Pid: pid},
		}},
	}
}

func noStages(string, time.Duration) {}

// podLeftovers lists what a failed Run left: the name, records, pod files.
func podLeftovers(t *testing.T, m *Manager, dir string) []string {
	t.Helper()
	var left []string
	if _, err := m.names.Reserve(reservationKey(hostPodCfg(0).Metadata), "probe"); err != nil {
		left = append(left, "reserved name")
	}
	_ = m.store.List(recordKind, func(id string, _ []byte) error {
		left = append(left, "record "+id)
		return nil
	})
	if entries, _ := os.ReadDir(filepath.Join(dir, "pods")); len(entries) > 0 {
		left = append(left, "pod dir "+entries[0].Name())
	}
	if len(m.index.List()) > 0 {
		left = append(left, "indexed pod")
	}
	return left
}

// TestRunFailingAtEachStepLeavesNothing fails a Run after each of its
// steps in turn, and in the infra step: the undo removes what was made.
func TestRunFailingAtEachStepLeavesNothing(t *testing.T) {
	m, _, dir := newTestManager(t)
	if _, err := m.Run(context.Background(), hostPodCfg(runtimeapi.NamespaceMode_CONTAINER), "runc", RunOptions{}, noStages); err != nil {
		t.Fatal(err)
	}
	if left := podLeftovers(t, m, dir); len(left) < 3 {
		t.Fatalf("a pod that ran should hold a name, record and files; found %v", left)
	}
	injected := errors.New("injected failure")
	for _, step := range (&podRun{}).steps() {
		t.Run("after "+step.Name, func(t *testing.T) {
			m, _, dir := newTestManager(t)
			m.afterStep = func(name string) error {
				if name == step.Name {
					return injected
				}
				return nil
			}
			_, err := m.Run(context.Background(), hostPodCfg(runtimeapi.NamespaceMode_CONTAINER), "runc", RunOptions{}, noStages)
			if !errors.Is(err, injected) {
				t.Fatalf("run: %v, want the injected failure", err)
			}
			if left := podLeftovers(t, m, dir); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	t.Run("in start infra", func(t *testing.T) {
		m, fc, dir := newTestManager(t)
		fc.startInfraErr = injected
		_, err := m.Run(context.Background(), hostPodCfg(runtimeapi.NamespaceMode_POD), "runc", RunOptions{}, noStages)
		if !errors.Is(err, injected) {
			t.Fatalf("run: %v, want the injected failure", err)
		}
		if left := podLeftovers(t, m, dir); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
		if len(fc.stoppedInfra) != 1 {
			t.Errorf("infra stopped %d times, want once (a half-started infra is ended)", len(fc.stoppedInfra))
		}
	})
}

// TestRestoreUndoesUnfinishedPodsAndMarksLostOnesNotReady: a pod recorded
// before its infra ran is removed with its infra; a ready pod whose
// namespaces are gone is restored NOTREADY, and so recorded.
func TestRestoreUndoesUnfinishedPodsAndMarksLostOnesNotReady(t *testing.T) {
	m, fc, dir := newTestManager(t)
	pending := &Sandbox{ID: "pending", Config: &PodConfig{hostPodCfg(runtimeapi.NamespaceMode_POD)}, InfraPending: true, Dir: filepath.Join(dir, "pods", "pending")}
	lost := &Sandbox{ID: "lost", Config: &PodConfig{hostPodCfg(runtimeapi.NamespaceMode_CONTAINER)}, Ready: true, Dir: filepath.Join(dir, "pods", "lost"),
		Namespaces: map[NS]string{NetNS: filepath.Join(dir, "ns", "gone-netns")}}
	lost.Config.Metadata = &runtimeapi.PodSandboxMetadata{Name: "q", Namespace: "ns", Uid: "v"}
	for _, sb := range []*Sandbox{pending, lost} {
		if err := m.store.Put(recordKind, sb.ID, sb); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Lookup("pending"); ok || len(fc.stoppedInfra) != 1 {
		t.Errorf("unfinished pod: restored %v, infra stopped %v", ok, fc.stoppedInfra)
	}
	sb, ok := m.Lookup("lost")
	if !ok || sb.IsReady() || sb.Namespaces != nil {
		t.Fatalf("pod whose namespaces are gone: found %v, want it NOTREADY without namespaces", ok)
	}
	recorded := map[string]*Sandbox{}
	_ = m.store.List(recordKind, func(id string, data []byte) error {
		recorded[id] = &Sandbox{}
		return json.Unmarshal(data, recorded[id])
	})
	if r := recorded["lost"]; r == nil || r.Ready || r.Namespaces != nil {
		t.Errorf("record of the lost pod: %+v, want NOTREADY without namespaces", r)
	}
	if _, ok := recorded["pending"]; ok {
		t.Error("unfinished pod kept its record")
	}
}

// The runtime creates the infra while the pod's files and record are
// written: StartInfra is under way before the record step ends.
func TestRunCreatesInfraAlongsideRecord(t *testing.T) {
	m, fc, dir := newTestManager(t)
	fc.startInfraErr = errors.New("injected")
	fc.entered = make(chan struct{})
	overlapped := false
	m.afterStep = func(name string) error {
		if name == "write record" {
			select {
			case <-fc.entered:
				overlapped = true
			case <-time.After(10 * time.Second): // StartInfra never came
			}
		}
		return nil
	}
	if _, err := m.Run(context.Background(), hostPodCfg(runtimeapi.NamespaceMode_POD), "runc", RunOptions{}, noStages); err == nil {
		t.Fatal("run: want the infra's failure")
	}
	if !overlapped {
		t.Error("the infra's creation did not start before the pod record was written")
	}
	if left := podLeftovers(t, m, dir); len(left) > 0 || len(fc.stoppedInfra) != 1 {
		t.Errorf("left behind: %v; infra stopped %d times, want once", left, len(fc.stoppedInfra))
	}
}
