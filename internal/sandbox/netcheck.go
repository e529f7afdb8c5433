package sandbox

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A CNI CHECK execs every plugin of the chain (tens of ms), far too slow for
// a status call, which the kubelet makes often and critest times. So the
// verbose status reports the last CHECK that finished and asks for the next
// one, which runs in the background after netCheckDelay; a pod stopped or
// removed meanwhile is not checked (its network is being torn down).
const (
	netCheckDelay   = 200 * time.Millisecond
	netCheckTimeout = time.Minute
)

// NetCheck is the outcome of one background CNI CHECK.
type NetCheck struct {
	Result string    // "ok", or the plugins' message
	At     time.Time // when it finished
}

// netChecks holds the last CHECK per pod and which pods have one scheduled.
type netChecks struct {
	mu      sync.Mutex
	last    map[string]NetCheck
	pending map[string]bool
}

// NetworkCheck returns the pod's last finished CHECK (ok false: none yet)
// and schedules another for a ready pod with a network, unless one is
// already scheduled. It does no network work itself.
func (m *Manager) NetworkCheck(sb *Sandbox) (last NetCheck, ok bool) {
	c := &m.checks
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok = c.last[sb.ID]
	if c.pending[sb.ID] || !sb.IsReady() {
		return last, ok
	}
	if c.pending == nil {
		c.pending, c.last = map[string]bool{}, map[string]NetCheck{}
	}
	c.pending[sb.ID] = true
	time.AfterFunc(netCheckDelay, func() { m.runNetCheck(sb) })
	return last, ok
}

// runNetCheck runs CHECK holding the pod's operation lock, so it never
// overlaps the DEL of a stop or a remove.
func (m *Manager) runNetCheck(sb *Sandbox) {
	ctx, cancel := context.WithTimeout(context.Background(), netCheckTimeout)
	defer cancel()
	sb.mu.Lock()
	att, netns, ready, removed := sb.Network, sb.Namespaces[NetNS], sb.Ready, sb.removed
	var err error
	if ready && !removed && att != nil {
		err = m.net.Check(ctx, m.cniPod(sb, netns), att)
	}
	sb.mu.Unlock()

	c := &m.checks
	c.mu.Lock()
	delete(c.pending, sb.ID)
	switch {
	case removed:
		delete(c.last, sb.ID)
	case ready && att != nil:
		r := NetCheck{Result: "ok", At: time.Now()}
		if err != nil {
			r.Result = err.Error()
		}
		c.last[sb.ID] = r
	}
	c.mu.Unlock()
	if ready && !removed && att != nil {
		// Tests wait for this line to read the result.
		slog.Debug("pod network checked", "pod", sb.ID, "error", err)
	}
}

// forgetNetCheck drops a removed pod's CHECK result.
func (m *Manager) forgetNetCheck(id string) {
	m.checks.mu.Lock()
	delete(m.checks.last, id)
	m.checks.mu.Unlock()
}
