package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/state"
)

// TestRemoveLeavesFilesToItsReapAndRestoreSweepsThem: Remove answers with
// the pod gone from every view (index, record, name) and its files left to
// the background reap; a daemon that died before the reap ran finds the
// files at its next start and removes them, keeping the files of pods it
// still has.
func TestRemoveLeavesFilesToItsReapAndRestoreSweepsThem(t *testing.T) {
	m, fc, dir := newTestManager(t)
	ctx := context.Background()
	cfg := hostPodCfg(runtimeapi.NamespaceMode_CONTAINER)
	sb, err := m.Run(ctx, cfg, "runc", RunOptions{}, noStages)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = RemoveFiles(sb.Dir) })
	m.Publish(sb.ID)
	if len(m.List()) != 1 {
		t.Fatal("the pod is not listed")
	}
	if err := m.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Lookup(sb.ID); ok || len(m.List()) != 0 {
		t.Error("removed pod still listed")
	}
	if len(fc.reaps) != 1 {
		t.Fatalf("%d pod reaps started, want 1", len(fc.reaps))
	}
	if _, err := os.Stat(sb.Dir); err != nil {
		t.Fatalf("pod files gone before the reap ran: %v", err)
	}
	// The same pod name again, at once.
	next, err := m.Run(ctx, cfg, "runc", RunOptions{}, noStages)
	if err != nil {
		t.Fatalf("run the same pod again: %v", err)
	}
	t.Cleanup(func() { _ = RemoveFiles(next.Dir) })

	// Not a pod's dir: an operator's, or another tool's; never swept.
	other := filepath.Join(m.opts.RunDir, "not-a-pod")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(other) })

	// A restart before the reap ran.
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	restarted := NewManager(m.opts, Deps{Pods: NewPods(), Store: store, Containers: &fakeContainers{}})
	if err := restarted.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sb.Dir); !os.IsNotExist(err) {
		t.Errorf("removed pod's files after restart: %v, want swept", err)
	}
	if _, err := os.Stat(next.Dir); err != nil {
		t.Errorf("files of a pod still recorded: %v, want kept", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a dir that is no pod's: %v, want kept", err)
	}
	if err := fc.reaps[0](); err != nil {
		t.Errorf("the reap after the sweep: %v", err)
	}
}
