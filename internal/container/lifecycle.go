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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

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
	c.mu.Lock()
	exited, _ := m.readExitLocked(c)
	started := c.Started
	c.mu.Unlock()
	if started || exited {
		return status.Errorf(codes.FailedPrecondition, "container %s is %s, not created", c.ID, strings.ToLower(strings.TrimPrefix(c.State().String(), "CONTAINER_")))
	}
	rt, err := m.Runtime(c.Handler)
	if err != nil {
		return err
	}
	// Started is set before the process runs: a process that exits at once
	// is then never seen exited-but-not-started (events stay in order, and
	// StartedAt <= FinishedAt).
	// The record is written while the runtime starts the process; a crash
	// before the start took effect is undone by reconcile.
	c.mu.Lock()
	c.Started, c.StartedAt = true, time.Now().UnixNano()
	c.mu.Unlock()
	persisted := m.persistAsync(c)
	stage := stageTimer(ctx)
	err = rt.Start(ctx, c.ID)
	stage("runtime_start")
	if err != nil {
		_ = persisted()
		c.mu.Lock()
		c.markExited(128, time.Now(), false, "StartError")
		c.Message = err.Error()
		_ = m.persist(c)
		c.mu.Unlock()
		return status.Errorf(codes.Unknown, "start container: %v", err)
	}
	err = persisted()
	stage("record")
	// The next create's monitor and the image's next layer are made now
	// that this container runs.
	go rt.Prelaunch()
	if m.spares != nil {
		m.spares.refill(c.ImageID)
	}
	return err
}

// Stop sends the stop signal, waits up to timeout for the exit, then kills.
// Stopping an exited or unknown container succeeds.
func (m *Manager) Stop(ctx context.Context, id string, timeout time.Duration) error {
	c, err := m.Get(id)
	if status.Code(err) == codes.NotFound {
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
	c.mu.Lock()
	exited, _ := m.readExitLocked(c)
	pid, start := c.Pid, c.PidStart
	c.mu.Unlock()
	if exited {
		return nil
	}
	rt, err := m.Runtime(c.Handler)
	if err != nil {
		return err
	}
	if timeout > 0 {
		sig := stopSignal(c.StopSignal)
		if err := signalInit(ctx, rt, c.ID, pid, start, sig); err != nil {
			return status.Errorf(codes.Unknown, "stop container %s: %v", c.ID, err)
		}
		if m.waitExit(ctx, c, timeout) {
			return nil
		}
		logging.From(ctx).Info("container ignored its stop signal; killing", "container", c.ID, "timeout", timeout)
	}
	if err := signalInit(ctx, rt, c.ID, pid, start, syscall.SIGKILL); err != nil {
		return status.Errorf(codes.Unknown, "kill container %s: %v", c.ID, err)
	}
	if !c.Status().Started {
		// A created container's init waits on the exec fifo; delete frees it.
		_ = rt.Delete(ctx, c.ID)
	}
	if !m.waitExit(ctx, c, killGrace) {
		return status.Errorf(codes.DeadlineExceeded, "container %s did not exit after SIGKILL", c.ID)
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
	if status.Code(err) == codes.NotFound {
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
	rt, err := m.Runtime(c.Handler)
	if err != nil {
		return err
	}
	for _, p := range []string{c.AttachDir, filepath.Join(m.opts.ExitsDir, c.ID)} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := m.store.Delete(recordKind, c.ID); err != nil {
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

func (m *Manager) stopPod(ctx context.Context, podID string) error {
	var errs []error
	for _, c := range m.podContainers(podID) {
		errs = append(errs, m.Stop(ctx, c.ID, 0))
	}
	return errors.Join(errs...)
}

func (m *Manager) removePod(ctx context.Context, podID string) error {
	var errs []error
	for _, c := range m.podContainers(podID) {
		errs = append(errs, m.remove(ctx, c))
	}
	m.reaps.waitPod(podID) // the pod goes only once its containers are gone
	return errors.Join(errs...)
}

// ReopenLog asks the monitor to reopen the log file after rotation.
func (m *Manager) ReopenLog(ctx context.Context, id string) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if !c.Running() {
		return status.Errorf(codes.FailedPrecondition, "container %s is not running", c.ID)
	}
	if err := monitor.ReopenLog(ctx, filepath.Join(c.AttachDir, "ctl")); err != nil {
		return status.Errorf(codes.Unknown, "reopen log of %s: %v", c.ID, err)
	}
	return nil
}

// Restore loads the records after a restart and applies exits that
// happened while the daemon was down.
func (m *Manager) Restore(ctx context.Context) error {
	log := logging.From(ctx)
	err := m.store.List(recordKind, func(id string, data []byte) error {
		c := &Container{exitCh: make(chan struct{})}
		if err := json.Unmarshal(data, c); err != nil {
			log.Error("skipping unreadable container record", "id", id, "error", err)
			return nil
		}
		if b, err := os.ReadFile(filepath.Join(c.Bundle, "config.json")); err == nil {
			c.spec = &specs.Spec{}
			_ = json.Unmarshal(b, c.spec)
		}
		if _, err := m.readExitLocked(c); err != nil {
			log.Warn("read exit record", "container", id, "error", err)
		}
		if !c.Exited {
			m.reconcile(ctx, c)
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
// left no record (a reboot) as exited with an unknown code.
func (m *Manager) reconcile(ctx context.Context, c *Container) {
	rt, err := m.Runtime(c.Handler)
	if err != nil {
		return
	}
	st, err := rt.State(ctx, c.ID)
	if errors.Is(err, oci.ErrNotExist) {
		c.markExited(255, time.Now(), false, "Unknown")
		c.Message = "container state was lost (monitor and runtime state are gone)"
		_ = m.persist(c)
		return
	}
	if err != nil {
		return
	}
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
	monitorRuns := true
	if c.MonitorPid == 0 || c.MonitorStart == 0 {
		pid, start := c.MonitorPid, c.MonitorStart
		monitorRuns = identifyMonitor(ctx, c)
		changed = changed || pid != c.MonitorPid || start != c.MonitorStart
	}
	if changed {
		_ = m.persist(c)
	}
	if !monitorRuns || monitorGone(c) {
		// The monitor died while the daemon was down (or with it).
		m.monitorLost(ctx, c, logging.From(ctx))
	}
}

// CRIStopSignal is the signal StopContainer sends, as ContainerStatus
// reports it.
func (c *Container) CRIStopSignal() runtimeapi.Signal {
	return runtimeapi.Signal(runtimeapi.Signal_value["SIGNAL_"+unix.SignalName(stopSignal(c.StopSignal))])
}
