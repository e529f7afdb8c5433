package container

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/proc"
)

// TestRestoreLoadsOldRecord: a record written before Container embedded
// Record loads with every field, and is written back the same.
func TestRestoreLoadsOldRecord(t *testing.T) {
	tm := newTestManager(t)
	old, err := os.ReadFile("testdata/container-record-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tm.dir, "state", recordKind)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c0ffee.json"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tm.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, ok := tm.index.Get("c0ffee")
	if !ok {
		t.Fatal("record not restored")
	}
	st := c.Status()
	if st.PodID != "p0d" || st.ExitCode != 137 || !st.OOMKilled || st.User.GID != 2 || *st.Resources.Memory.Limit != 1<<20 ||
		st.ImageMountRefs["vol:1"] != "img2" || st.Config.GetMetadata().GetAttempt() != 2 || st.PidStart != 6 {
		t.Errorf("fields lost: %+v", st)
	}
	again, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(old, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("record changed on the way back:\nold %s\nnew %s", old, again)
	}
}

// putRecord stores a running container's record as a daemon that died
// would have left it.
func putRecord(t *testing.T, tm *testManager, id string, edit func(*Container)) {
	t.Helper()
	c := &Container{Record: Record{
		ID: id, PodID: "pod1", Config: &Config{ctrCfg(func(c0 *runtimeapi.ContainerConfig) { c0.Metadata.Name = id })}, Handler: "runc",
		Started: true, StartedAt: 1, Pid: os.Getpid(), MonitorPid: os.Getpid(),
		Bundle: filepath.Join(tm.opts.RunDir, id), AttachDir: filepath.Join(tm.opts.AttachSocketDir, id),
	}}
	edit(c)
	if err := tm.store.Put(recordKind, id, c); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreWhenMonitorOrRuntimeIsGone: restored records of containers
// whose runtime state or monitor vanished while the daemon was down are
// recorded exited, on disk too, and a container still running without its
// monitor is killed.
func TestRestoreWhenMonitorOrRuntimeIsGone(t *testing.T) {
	tm := newTestManager(t)
	selfStart, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The runtime lost it (a reboot): exit unknown.
	putRecord(t, tm, "gone", func(*Container) {})
	// Its monitor died (the pid names another process now); the runtime
	// still runs it: killed, exit recorded as the monitor's loss.
	putRecord(t, tm, "orphan", func(c *Container) { c.MonitorStart = 1 })
	tm.rt.containers["orphan"] = "running"
	// Created, its start recorded, but the runtime never started it.
	putRecord(t, tm, "notstarted", func(c *Container) { c.MonitorStart = selfStart })
	tm.rt.containers["notstarted"] = "created"

	if err := tm.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second restore whose runtime cannot be asked sees what the first
	// one recorded on disk.
	reloaded := newTestManager(t)
	reloaded.store = tm.store
	reloaded.runtimeFor = func(string) (ociRuntime, error) { return nil, errors.New("runtime unavailable") }
	if err := reloaded.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*testManager{tm, reloaded} {
		check := func(id string, exited bool, code int32, reason string) {
			t.Helper()
			c, ok := m.index.Get(id)
			if !ok {
				t.Fatalf("%s not restored", id)
			}
			st := c.Status()
			if st.Exited != exited || st.ExitCode != code || st.Reason != reason {
				t.Errorf("%s: exited %v code %d reason %q; want %v %d %q", id, st.Exited, st.ExitCode, st.Reason, exited, code, reason)
			}
		}
		check("gone", true, 255, "Unknown")
		check("orphan", true, 255, ReasonMonitorLost)
		check("notstarted", false, 0, "")
		if c, _ := m.index.Get("notstarted"); c.Status().Started {
			t.Error("a container the runtime never started is restored as started")
		}
	}
	if len(tm.rt.killed) != 1 || tm.rt.killed[0] != "orphan" {
		t.Errorf("killed %v, want only the container whose monitor died", tm.rt.killed)
	}
}
