package container

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/fault"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// killGrace is how long a SIGKILLed container gets to be reaped.
const killGrace = 10 * time.Second

// Start runs the created container's process.
func (m *Manager) Start(ctx context.Context, id string) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	exited, _ := m.applyExit(c)
	if started := c.Status().Started; started || exited {
		return errdefs.FailedPrecondition("container %s is %s, not created", c.ID, strings.ToLower(strings.TrimPrefix(c.State().String(), "CONTAINER_")))
	}
	rt, err := m.runtimeFor(c.Handler)
	if err != nil {
		return err
	}
	// Started is set before the process runs: a process that exits at once
	// is then never seen exited-but-not-started (events stay in order, and
	// StartedAt <= FinishedAt). The record is written a little after the
	// start (its fsyncs ran beside the answer and the status call that
	// usually follows), and the answer does not wait for it: a daemon that
	// stops in between finds the start in the runtime's state at restore
	// (inferStart).
	c.mu.Lock()
	pid := c.Pid
	c.Started, c.StartedAt = true, time.Now().UnixNano()
	c.mu.Unlock()
	stage := stageTimer(ctx)
	err = rt.Start(ctx, c.ID, pid)
	stage("runtime_start")
	if err != nil {
		_ = m.update(c, func(c *Container) error {
			c.markExited(128, time.Now(), false, "StartError")
			c.Message = err.Error()
			return nil
		})
		return errdefs.New(errdefs.ErrUnknown, "start container: %w", err)
	}
	fault.Point("after-runtime-start")
	log := logging.From(ctx)
	m.startWrites.Add(1)
	time.AfterFunc(afterStartDelay, func() {
		defer m.startWrites.Done()
		if err := m.update(c, func(*Container) error { return nil }); err != nil {
			log.Error("record a container's start", "container", c.ID, "error", err)
		}
	})
	// The next create's monitor and the image's next layer are made now
	// that this container runs, a little later: made at once, their process
	// start-ups and storage writes ran beside this answer and the status
	// call that usually follows a start.
	d := m.prepareDelay
	if d == 0 {
		d = afterStartDelay
	}
	time.AfterFunc(d, func() {
		rt.Prelaunch()
		if m.spares != nil {
			m.spares.refill(c.ImageID)
		}
	})
	return nil
}

// afterStartDelay: a create arriving sooner launches its own monitor, as
// before any start.
const afterStartDelay = 30 * time.Millisecond

// Stop sends the stop signal, waits up to timeout for the exit, then kills.
// Stopping an exited or unknown container succeeds.
func (m *Manager) Stop(ctx context.Context, id string, timeout time.Duration) error {
	c, err := m.Get(id)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return m.stopLocked(ctx, c, timeout)
}

func (m *Manager) stopLocked(ctx context.Context, c *Container, timeout time.Duration) error {
	if exited, _ := m.applyExit(c); exited {
		return nil
	}
	c.mu.Lock()
	pid, start := c.Pid, c.PidStart
	c.mu.Unlock()
	rt, err := m.runtimeFor(c.Handler)
	if err != nil {
		return err
	}
	if timeout > 0 {
		sig := stopSignal(c.StopSignal)
		if err := signalInit(ctx, rt, c.ID, pid, start, sig); err != nil {
			return errdefs.New(errdefs.ErrUnknown, "stop container %s: %w", c.ID, err)
		}
		if m.waitExit(ctx, c, timeout) {
			return nil
		}
		if ctx.Err() != nil {
			// Abandoned (the client gave up, the kubelet shortened the
			// grace, the daemon stops): the next stop decides; an
			// abandoned one never escalates to SIGKILL.
			return errdefs.New(errdefs.ErrCanceled, "stop container %s: %w", c.ID, context.Cause(ctx))
		}
		logging.From(ctx).Info("container ignored its stop signal; killing", "container", c.ID, "timeout", timeout)
	}
	if err := signalInit(ctx, rt, c.ID, pid, start, syscall.SIGKILL); err != nil {
		return errdefs.New(errdefs.ErrUnknown, "kill container %s: %w", c.ID, err)
	}
	if !c.Status().Started {
		// A created container's init waits on the exec fifo; delete frees it.
		_ = rt.Delete(ctx, c.ID)
	}
	if !m.waitExit(ctx, c, killGrace) {
		return errdefs.New(errdefs.ErrDeadlineExceeded, "container %s did not exit after SIGKILL", c.ID)
	}
	return nil
}

func stopSignal(name string) syscall.Signal {
	if name == "" {
		return syscall.SIGTERM
	}
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n)
	}
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if s := unix.SignalNum(name); s != 0 {
		return s
	}
	return syscall.SIGTERM
}

// Remove stops the container if needed and deletes it and its rootfs.
// Unknown ids succeed.
func (m *Manager) Remove(ctx context.Context, id string) error {
	c, err := m.Get(id)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.remove(ctx, c)
}

func (m *Manager) remove(ctx context.Context, c *Container) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if _, ok := m.index.Get(c.ID); !ok {
		return nil // removed while we waited
	}
	if err := m.stopLocked(ctx, c, 0); err != nil {
		return err
	}
	rt, err := m.runtimeFor(c.Handler)
	if err != nil {
		return err
	}
	for _, p := range []string{c.AttachDir, filepath.Join(m.opts.ExitsDir, c.ID)} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := m.deleteRecord(c); err != nil {
		return err
	}
	m.index.Remove(c.ID)
	m.release(nameKey(c.Metadata().Name, c.PodID, c.Metadata().Attempt), c.ID)
	m.reapLater(ctx, rt, c) // runtime delete, rootfs, bundle: reap.go
	return nil
}

func (m *Manager) podContainers(podID string) []*Container {
	var out []*Container
	for _, c := range m.index.List() {
		if c.PodID == podID {
			out = append(out, c)
		}
	}
	return out
}

// StopPodContainers stops every container of the pod (the pod's stop does
// this before its own).
func (m *Manager) StopPodContainers(ctx context.Context, podID string) error {
	var errs []error
	for _, c := range m.podContainers(podID) {
		errs = append(errs, m.Stop(ctx, c.ID, 0))
	}
	return errors.Join(errs...)
}

// RemovePodContainers removes every container of the pod (the pod's
// remove does this before its own record goes). Their reaps go on in the
// background; the pod's own reap (ReapPod) waits for them.
func (m *Manager) RemovePodContainers(ctx context.Context, podID string) error {
	var errs []error
	for _, c := range m.podContainers(podID) {
		errs = append(errs, m.remove(ctx, c))
	}
	return errors.Join(errs...)
}

// ReopenLog asks the monitor to reopen the log file after rotation.
func (m *Manager) ReopenLog(ctx context.Context, id string) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if !c.Running() {
		return errdefs.FailedPrecondition("container %s is not running", c.ID)
	}
	if err := monitor.ReopenLog(ctx, filepath.Join(c.AttachDir, "ctl")); err != nil {
		return errdefs.New(errdefs.ErrUnknown, "reopen log of %s: %w", c.ID, err)
	}
	return nil
}

// Restore loads the records after a restart and applies exits that
// happened while the daemon was down.
func (m *Manager) Restore(ctx context.Context) error {
	log := logging.From(ctx)
	err := m.store.List(recordKind, func(id string, data []byte) error {
		c := &Container{exitCh: make(chan struct{})}
		// The record is flattened into the container's JSON.
		if err := json.Unmarshal(data, c); err != nil {
			log.Error("skipping unreadable container record", "id", id, "error", err)
			return nil
		}
		if b, err := os.ReadFile(filepath.Join(c.Bundle, "config.json")); err == nil {
			c.spec = &specs.Spec{}
			_ = json.Unmarshal(b, c.spec)
		}
		var st *oci.State // the runtime's state, if asked already
		if !c.Started && !c.Exited {
			st = m.inferStart(ctx, c)
		}
		if _, err := m.applyExit(c); err != nil {
			log.Warn("read exit record", "container", id, "error", err)
		}
		if !c.Exited {
			m.reconcile(ctx, c, st)
		}
		m.index.Add(id, c)
		_, _ = m.names.Reserve(nameKey(c.Metadata().Name, c.PodID, c.Metadata().Attempt), id)
		return nil
	})
	if err != nil {
		return err
	}
	if m.spares != nil {
		// Spares of an earlier run (one that did not shut down) are stale.
		m.spares.sweep(func(id string) bool { _, ok := m.index.Get(id); return ok })
	}
	return nil
}

// reconcile marks a container whose runtime state is gone and whose monitor
// left no record (a reboot) as exited with an unknown code, and completes
// a record written before the runtime or the monitor reported. st is the
// runtime's state if the caller has it (nil: asked here).
func (m *Manager) reconcile(ctx context.Context, c *Container, st *oci.State) {
	rt, err := m.runtimeFor(c.Handler)
	if err != nil {
		return
	}
	if st == nil {
		st, err = rt.State(ctx, c.ID)
	}
	if errors.Is(err, oci.ErrNotExist) {
		_ = m.update(c, func(c *Container) error {
			c.markExited(255, time.Now(), false, "Unknown")
			c.Message = "container state was lost (monitor and runtime state are gone)"
			return nil
		})
		return
	}
	if err != nil {
		return
	}
	monitorRuns := true
	_ = m.update(c, func(c *Container) error {
		changed := syncWithRuntime(c, st)
		if c.MonitorPid == 0 || c.MonitorStart == 0 {
			pid, start := c.MonitorPid, c.MonitorStart
			monitorRuns = identifyMonitor(ctx, c)
			changed = changed || pid != c.MonitorPid || start != c.MonitorStart
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if !monitorRuns || monitorGone(c) {
		// The monitor died while the daemon was down (or with it).
		m.monitorLost(ctx, c, logging.From(ctx))
	}
}

// inferStart marks started a container the runtime started whose record
// says created: Start answers before its record is on disk, and the
// daemon stopped in between. The runtime shows the start: the process
// runs, or (runc) it stopped after its exec fifo was read. The start time
// is not known; the create time stands in for it. It returns the state it
// read (nil: none), which reconcile then need not ask for again.
func (m *Manager) inferStart(ctx context.Context, c *Container) *oci.State {
	rt, err := m.runtimeFor(c.Handler)
	if err != nil {
		return nil
	}
	st, err := rt.State(ctx, c.ID)
	if err != nil {
		return nil
	}
	switch {
	case st.Status == "running" || st.Status == "paused":
	case st.Status == "stopped" && rt.StartedPerState(c.ID):
	default:
		return st
	}
	_ = m.update(c, func(c *Container) error {
		c.Started, c.StartedAt = true, c.CreatedAt
		return nil
	})
	return st
}

// syncWithRuntime brings c's record in line with the runtime's state st;
// it reports whether anything changed.
func syncWithRuntime(c *Container, st *oci.State) bool {
	changed := false
	if c.Started && st.Status == "created" {
		// The daemon stopped between recording the start and the
		// runtime's start: the container is still only created.
		c.Started, c.StartedAt = false, 0
		changed = true
	}
	// The record is written before the monitor reports (see Create).
	if c.Pid == 0 && st.Pid > 0 {
		c.Pid, changed = st.Pid, true
	}
	// The runtime has just checked that its pid is the container's.
	if c.PidStart == 0 && c.Pid > 0 && c.Pid == st.Pid && st.Status != "stopped" {
		if start, err := proc.StartTime(c.Pid); err == nil {
			c.PidStart, changed = start, true
		}
	}
	return changed
}

// CRIStopSignal is the signal StopContainer sends, as ContainerStatus
// reports it.
func (c *Container) CRIStopSignal() runtimeapi.Signal {
	return runtimeapi.Signal(runtimeapi.Signal_value["SIGNAL_"+unix.SignalName(stopSignal(c.StopSignal))])
}
