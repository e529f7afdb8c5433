package container

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitHurriesDelayedReaps: a reap waits out its delay unless something
// waits for it; waiting for a pod's reap also hurries the reaps it runs
// after (its containers'), and it runs only once they are done.
func TestWaitHurriesDelayedReaps(t *testing.T) {
	r := reaps{delay: time.Hour} // a reap nothing hurries never runs here
	var order []string
	var ctrDone atomic.Bool
	r.start("pod", []string{"img"}, func() { order = append(order, "container"); ctrDone.Store(true) })
	r.start("other", nil, func() { order = append(order, "other") })
	r.startAfter("pod", nil, true, func() {
		if !ctrDone.Load() {
			t.Error("the pod's reap ran before its container's")
		}
		order = append(order, "pod")
	})
	r.wait(func(rp *reap) bool { return rp.pod == "pod" && rp.images == nil })
	if len(order) != 2 || order[0] != "container" || order[1] != "pod" {
		t.Errorf("reaps run by the wait: %v, want the container's then the pod's", order)
	}
	r.mu.Lock()
	left := len(r.inflight)
	r.mu.Unlock()
	if left != 1 {
		t.Errorf("%d reaps in flight, want the other pod's, still delayed", left)
	}
	r.waitAll()
	r.wg.Wait()
	if len(order) != 3 {
		t.Errorf("reaps run: %v", order)
	}
}
