package container

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"syscall"
	"time"

	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// monitorPoll is how often the daemon checks that the monitors of live
// containers still run; a dead one can no longer record the exit.
const monitorPoll = 2 * time.Second

// ReasonMonitorLost is the reason of an exit the daemon recorded itself
// because the container's monitor died first.
const ReasonMonitorLost = "ContainerMonitorLost"

// monitorGone reports whether c's monitor is known to have exited: its
// recorded pid no longer names the process that started with it.
func monitorGone(c *Container) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.Exited && c.MonitorPid > 0 && c.MonitorStart > 0 && !proc.Same(c.MonitorPid, c.MonitorStart)
}

// identifyMonitor fills in the monitor's pid and start time from the
// control socket's peer (a record written before the monitor reported). It
// reports false when no monitor serves the socket any more.
func identifyMonitor(ctx context.Context, c *Container) bool {
	pid, err := monitor.MonitorPID(ctx, filepath.Join(c.AttachDir, "ctl"))
	if errors.Is(err, monitor.ErrMonitorGone) {
		return false
	}
	if err != nil {
		return true // cannot tell; the poll tries again later
	}
	if start, err := proc.StartTime(pid); err == nil {
		c.MonitorPid, c.MonitorStart = pid, start
	}
	return true
}

// monitorLost records the exit of a container whose monitor died: the
// runtime is asked for the container's state, a process still running is
// killed (nothing would report its exit or drain its output), and the exit
// is recorded as 255 with ReasonMonitorLost, as neither runc nor crun keep
// exit codes. An exit record the monitor wrote before dying wins.
func (m *Manager) monitorLost(ctx context.Context, c *Container, log *slog.Logger) {
	exited, _ := m.applyExit(c)
	monPid := c.Status().MonitorPid
	if exited {
		return
	}
	rt, err := m.runtimeFor(c.Handler)
	if err != nil {
		return
	}
	st, err := rt.State(ctx, c.ID)
	if err != nil && !errors.Is(err, oci.ErrNotExist) {
		log.Warn("container monitor died; runtime state unknown", "container", c.ID, "error", err)
		return // try again at the next poll
	}
	msg := fmt.Sprintf("the container's monitor (conmon-go, pid %d) died; the exit code is unknown", monPid)
	if st != nil && st.Status != "stopped" {
		log.Warn("container monitor died; killing the container", "container", c.ID, "monitorPid", monPid, "state", st.Status)
		if err := m.killWithoutMonitor(ctx, rt, c.ID); err != nil {
			log.Error("kill container whose monitor died", "container", c.ID, "error", err)
			return
		}
		msg += "; the container was killed"
	}
	_ = m.update(c, func(c *Container) error {
		if c.Exited {
			return errUnchanged
		}
		c.markExited(255, time.Now(), false, ReasonMonitorLost)
		c.Message = msg
		return nil
	})
	m.changed()
}

// killWithoutMonitor SIGKILLs the container and waits until the runtime
// sees it stopped (whoever reaps it now, the exit is not ours to read).
func (m *Manager) killWithoutMonitor(ctx context.Context, rt ociRuntime, id string) error {
	if err := rt.Kill(ctx, id, syscall.SIGKILL); err != nil {
		return err
	}
	for deadline := time.Now().Add(killGrace); ; time.Sleep(50 * time.Millisecond) {
		st, err := rt.State(ctx, id)
		if errors.Is(err, oci.ErrNotExist) || (err == nil && st.Status == "stopped") {
			return nil
		}
		if err == nil && st.Status == "created" {
			// A created container's init waits on the exec fifo; delete frees it.
			return rt.Delete(ctx, id)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s did not stop after SIGKILL", id)
		}
	}
}

// watchMonitors checks the monitors of live containers until done closes.
func (m *Manager) watchMonitors(log *slog.Logger, done <-chan struct{}) {
	t := time.NewTicker(monitorPoll)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		for _, c := range m.index.List() {
			if monitorGone(c) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				m.monitorLost(ctx, c, log)
				cancel()
			}
		}
	}
}
