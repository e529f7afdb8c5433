package oci

import (
	"sync"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// spareMonitor is a monitor launched ahead of the next create: its two
// process start-ups are then off that create's critical path. It waits for
// its config; if the daemon dies it sees EOF and exits.
type spareMonitor struct {
	mu        sync.Mutex
	p         *monitor.Pending
	launching bool
	closed    bool
}

// Prelaunch starts a monitor for the handler's next create, unless one is
// waiting already. The fork happens outside the lock, so a create taking
// the spare never waits for it.
func (r *Runtime) Prelaunch() {
	r.spare.mu.Lock()
	if r.spare.p != nil || r.spare.closed || r.spare.launching {
		r.spare.mu.Unlock()
		return
	}
	r.spare.launching = true
	r.spare.mu.Unlock()
	p, err := r.launch()
	r.spare.mu.Lock()
	defer r.spare.mu.Unlock()
	r.spare.launching = false
	switch {
	case err != nil:
	case r.spare.closed || r.spare.p != nil:
		p.Abort()
	default:
		r.spare.p = p
	}
}

// takeSpare returns the monitor launched ahead, if any.
func (r *Runtime) takeSpare() *monitor.Pending {
	r.spare.mu.Lock()
	defer r.spare.mu.Unlock()
	p := r.spare.p
	r.spare.p = nil
	return p
}

// Close ends the waiting monitor and launches no more.
func (r *Runtime) Close() {
	r.spare.mu.Lock()
	defer r.spare.mu.Unlock()
	r.spare.closed = true
	if r.spare.p != nil {
		r.spare.p.Abort()
		r.spare.p = nil
	}
}
