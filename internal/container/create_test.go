package container

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func createCfg() *runtimeapi.ContainerConfig {
	return ctrCfg(func(c *runtimeapi.ContainerConfig) {
		c.Command = []string{"/bin/sh"}
		c.LogPath = "c/0.log"
		c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/vol", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "vol"}}}
	})
}

// leftBehind lists what a failed create left: records, names, layers,
// image mounts, runtime containers, monitors neither used nor aborted, and
// files under the manager's dirs.
func leftBehind(t *testing.T, tm *testManager) []string {
	t.Helper()
	var left []string
	if n := len(tm.index.List()); n > 0 {
		left = append(left, "indexed container")
	}
	if _, err := tm.names.Reserve(nameKey("c", "pod1", 0), "probe"); err != nil {
		left = append(left, "reserved name")
	}
	tm.names.Release(nameKey("c", "pod1", 0), "probe")
	_ = tm.store.List(recordKind, func(id string, _ []byte) error {
		left = append(left, "record "+id)
		return nil
	})
	if len(tm.layers.mounts) > 0 {
		left = append(left, "image mounts")
	}
	if len(tm.rt.containers) > 0 {
		left = append(left, "runtime container")
	}
	for _, mon := range tm.rt.launched {
		if !mon.sent && !mon.aborted {
			left = append(left, "monitor neither used nor aborted")
		}
	}
	for _, d := range []string{tm.layers.dir, tm.opts.RunDir, tm.opts.AttachSocketDir, tm.opts.ExitsDir} {
		if entries, _ := os.ReadDir(d); len(entries) > 0 {
			left = append(left, d+": "+entries[0].Name())
		}
	}
	return left
}

func TestCreateSucceedsOverFakes(t *testing.T) {
	tm := newTestManager(t)
	c, err := tm.Create(context.Background(), "pod1", createCfg(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// What a failed create must not leave is there after a good one.
	if left := leftBehind(t, tm); len(left) < 5 {
		t.Errorf("a created container should hold a record, name, layer, mount and runtime container; found %v", left)
	}
	if c.Pid != os.Getpid() || c.MonitorStart == 0 || !c.hidden.Load() {
		t.Errorf("record after create: pid %d monitorStart %d hidden %v", c.Pid, c.MonitorStart, c.hidden.Load())
	}
}

// The next create's monitor is launched after a start has answered, not
// beside its answer (and the status call that follows it).
func TestStartPreparesTheNextCreateLater(t *testing.T) {
	tm := newTestManager(t)
	tm.prepareDelay = time.Second
	c := createdContainer(t, tm)
	if err := tm.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // long enough for a launch started with the answer
	if n := tm.rt.prelaunched.Load(); n != 0 {
		t.Fatalf("monitor launched %d times before the start's delay passed", n)
	}
	for deadline := time.Now().Add(10 * time.Second); tm.rt.prelaunched.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if tm.rt.prelaunched.Load() != 1 {
		t.Fatalf("the next create's monitor was not launched after the start")
	}
}

// TestCreateFailingAtEachStepLeavesNothing fails a create after each of
// its steps in turn, and in the steps that call the runtime or the image
// store: every time, the undo removes all the steps made.
func TestCreateFailingAtEachStepLeavesNothing(t *testing.T) {
	injected := errors.New("injected failure")
	for _, step := range (&creation{}).steps() {
		t.Run("after "+step.Name, func(t *testing.T) {
			tm := newTestManager(t)
			tm.afterStep = func(name string) error {
				if name == step.Name {
					return injected
				}
				return nil
			}
			if _, err := tm.Create(context.Background(), "pod1", createCfg(), nil); !errors.Is(err, injected) {
				t.Fatalf("create: %v, want the injected failure", err)
			}
			if left := leftBehind(t, tm); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	for name, setup := range map[string]func(*testManager, *runtimeapi.ContainerConfig){
		"monitor launch": func(tm *testManager, _ *runtimeapi.ContainerConfig) { tm.rt.failLaunch = injected },
		"layer":          func(tm *testManager, _ *runtimeapi.ContainerConfig) { tm.layers.failLayer = injected },
		"second image volume": func(tm *testManager, cfg *runtimeapi.ContainerConfig) {
			tm.layers.failMount = "img3"
			cfg.Mounts = append(cfg.Mounts, &runtimeapi.Mount{ContainerPath: "/bad", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "badvol"}})
		},
		"runtime create": func(tm *testManager, _ *runtimeapi.ContainerConfig) { tm.rt.failCreate = injected },
	} {
		t.Run("in "+name, func(t *testing.T) {
			tm := newTestManager(t)
			cfg := createCfg()
			setup(tm, cfg)
			if _, err := tm.Create(context.Background(), "pod1", cfg, nil); err == nil {
				t.Fatal("create succeeded")
			}
			if left := leftBehind(t, tm); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
