package container

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// createdContainer creates a container over the fakes and hands it out,
// as CreateContainer does.
func createdContainer(t *testing.T, tm *testManager) *Container {
	t.Helper()
	c, err := tm.Create(context.Background(), "pod1", createCfg(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tm.Publish(c.ID)
	return c
}

// readRecord reads id's record as it is on disk.
func readRecord(t *testing.T, tm *testManager, id string) (*Container, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tm.dir, "state", recordKind, id+".json"))
	if err != nil {
		return nil, err
	}
	c := &Container{}
	if err := json.Unmarshal(data, c); err != nil {
		t.Fatal(err)
	}
	return c, nil
}

// Writes that finish out of order leave the newest encoding on disk, and a
// write still under way when the record is deleted does not bring it back.
func TestRecordWritesKeepTheNewestAndStayDeleted(t *testing.T) {
	tm := newTestManager(t)
	c := &Container{Record: Record{ID: "c1", Config: &Config{ctrCfg(func(*runtimeapi.ContainerConfig) {})}}}
	c.mu.Lock()
	c.ExitCode = 1
	older, err := encode(c)
	if err != nil {
		t.Fatal(err)
	}
	c.ExitCode = 2
	newer, _ := encode(c)
	c.mu.Unlock()
	if err := tm.write(c, newer); err != nil {
		t.Fatal(err)
	}
	if err := tm.write(c, older); err != nil {
		t.Fatal(err)
	}
	if got, err := readRecord(t, tm, "c1"); err != nil || got.ExitCode != 2 {
		t.Fatalf("on disk after an older write landed last: %+v, %v; want exit code 2", got, err)
	}

	c.mu.Lock()
	late, _ := encode(c)
	c.mu.Unlock()
	if err := tm.deleteRecord(c); err != nil {
		t.Fatal(err)
	}
	if err := tm.write(c, late); err != nil {
		t.Fatal(err)
	}
	if _, err := readRecord(t, tm, "c1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a write encoded before the delete brought the record back (%v)", err)
	}
}

// Start answers, and a status read goes through, while the start's record
// is still being written.
func TestStartDoesNotWaitForItsRecord(t *testing.T) {
	tm := newTestManager(t)
	c := createdContainer(t, tm)
	c.writeMu.Lock() // a slow disk
	done := make(chan error, 1)
	go func() { done <- tm.Start(context.Background(), c.ID) }()
	select {
	case err := <-done:
		if err != nil {
			c.writeMu.Unlock()
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		c.writeMu.Unlock()
		t.Fatal("Start waited for its record's write")
	}
	if _, err := tm.Status(c.ID); err != nil || !c.Running() {
		t.Errorf("status during the write: running %v, %v", c.Running(), err)
	}
	if rec, _ := readRecord(t, tm, c.ID); rec == nil || rec.Started {
		t.Fatalf("record on disk before the write: %+v", rec)
	}
	c.writeMu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if rec, _ := readRecord(t, tm, c.ID); rec != nil && rec.Started {
			return
		}
	}
	t.Fatal("the start never reached the record on disk")
}

// TestRestoreInfersStartFromRuntime: records written as created whose
// start the runtime shows (the daemon stopped before the start's record
// was on disk) are restored started; one the runtime never started is not.
func TestRestoreInfersStartFromRuntime(t *testing.T) {
	tm := newTestManager(t)
	selfStart, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	notStarted := func(c *Container) { c.Started, c.StartedAt, c.CreatedAt, c.MonitorStart = false, 0, 7, selfStart }
	putRecord(t, tm, "runs", notStarted)
	tm.rt.containers["runs"] = "running"
	// Started, then exited while the daemon was down.
	putRecord(t, tm, "ran", notStarted)
	tm.rt.containers["ran"], tm.rt.started["ran"] = "stopped", true
	// Killed before any start: its exec fifo is still there.
	putRecord(t, tm, "killed", notStarted)
	tm.rt.containers["killed"] = "stopped"
	// Created and still waiting for its start.
	putRecord(t, tm, "created", notStarted)
	tm.rt.containers["created"] = "created"
	if err := os.MkdirAll(tm.opts.ExitsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ran", "killed"} {
		if err := monitor.WriteExit(tm.opts.ExitsDir, id, &monitor.ExitRecord{ExitCode: 3, FinishedAt: time.Unix(9, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One question to the runtime per record: reconcile reuses the
	// state inferStart read.
	if n := tm.rt.states.Load(); n != 4 {
		t.Errorf("the runtime's state was asked %d times for 4 records", n)
	}
	for id, want := range map[string]bool{"runs": true, "ran": true, "killed": false, "created": false} {
		c, ok := tm.index.Get(id)
		if !ok {
			t.Fatalf("%s not restored", id)
		}
		st := c.Status()
		if st.Started != want || (want && st.StartedAt != 7) {
			t.Errorf("%s: started %v at %d; want %v (at the create time, 7)", id, st.Started, st.StartedAt, want)
		}
		if rec, err := readRecord(t, tm, id); err != nil || rec.Started != want {
			t.Errorf("%s on disk: %+v, %v", id, rec, err)
		}
		if (id == "ran" || id == "killed") && (!st.Exited || st.ExitCode != 3) {
			t.Errorf("%s: exit lost: %+v", id, st)
		}
	}
}

// A daemon shutting down right after a start writes the start's record
// first, so the restart keeps the start time.
func TestShutdownWritesTheStartRecord(t *testing.T) {
	tm := newTestManager(t)
	c := createdContainer(t, tm)
	if err := tm.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	tm.CloseSpares()
	rec, err := readRecord(t, tm, c.ID)
	if err != nil || !rec.Started || rec.StartedAt != c.Status().StartedAt {
		t.Fatalf("record after shutdown: %+v, %v; want started at %d", rec, err, c.Status().StartedAt)
	}
}
