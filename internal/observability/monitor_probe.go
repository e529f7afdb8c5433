package observability

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/container"
)

// probeMonitors counts, once per container, a container whose monitor
// process is gone while the container still runs (CRI-O's
// containers_stopped_monitor_count): its exit would then never be
// recorded, nor its logs written. Only runEvents calls it.
func (o *Observability) probeMonitors() {
	if o.monitorGone == nil {
		o.monitorGone = map[string]bool{}
	}
	seen := map[string]bool{}
	for _, c := range o.opts.Containers.Snapshot() {
		seen[c.ID] = true
		if o.monitorGone[c.ID] || c.MonitorPid <= 0 || c.Pid <= 0 {
			continue
		}
		// The container manager kills a container whose monitor died and
		// records the exit with ReasonMonitorLost, often before this probe
		// sees it running: both count.
		st := c.Status()
		if !(st.Exited && st.Reason == container.ReasonMonitorLost) {
			if !st.Started || st.Exited || pidAlive(c.MonitorPid) || !pidAlive(c.Pid) {
				continue
			}
		}
		o.monitorGone[c.ID] = true
		o.metrics.MonitorStopped(c.Metadata().Name)
		o.opts.Log.Error("monitor of a running container is gone", "container", c.ID, "name", c.Metadata().Name, "monitorPid", c.MonitorPid)
	}
	for id := range o.monitorGone {
		if !seen[id] {
			delete(o.monitorGone, id)
		}
	}
}

func pidAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
