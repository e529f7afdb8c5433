package events

import (
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func ev(id string) *Event { return &Event{ContainerId: id} }

func TestSlowSubscriberDropsWithoutBlocking(t *testing.T) {
	var drops int
	var mu sync.Mutex
	b := NewBroker(2, func() { mu.Lock(); drops++; mu.Unlock() })
	slow, fast := b.Subscribe(), b.Subscribe()
	defer slow.Close()
	got := make(chan string, 10)
	go func() {
		for e := range fast.Events() {
			got <- e.ContainerId
		}
		close(got)
	}()
	done := make(chan struct{})
	go func() {
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			b.Publish(ev(id))
			// Let the fast reader keep up so only the slow one drops.
			deadline := time.Now().Add(5 * time.Second)
			for len(fast.ch) > 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	fast.Close()
	var order []string
	for id := range got {
		order = append(order, id)
	}
	if len(order) != 5 || order[0] != "a" || order[4] != "e" {
		t.Errorf("fast subscriber got %v", order)
	}
	if slow.Dropped() != 3 || b.Dropped() != 3 || drops != 3 {
		t.Errorf("dropped: slow %d broker %d hook %d, want 3", slow.Dropped(), b.Dropped(), drops)
	}
	if e := <-slow.Events(); e.ContainerId != "a" {
		t.Errorf("slow kept %v, want the oldest", e.ContainerId)
	}
}

func TestCloseIsIdempotentAndUnsubscribes(t *testing.T) {
	b := NewBroker(0, nil)
	s := b.Subscribe()
	s.Close()
	s.Close()
	b.Publish(ev("x")) // must not panic on the closed channel
	if b.Subscribers() != 0 {
		t.Errorf("subscribers: %d", b.Subscribers())
	}
	if _, ok := <-s.Events(); ok {
		t.Error("channel not closed")
	}
}

func TestTrackerOrdersAndFillsGaps(t *testing.T) {
	tr := NewTracker([]State{{ID: "old", PodID: "p", Started: true, CreatedAt: 1, StartedAt: 2}})
	now := time.Unix(0, 100)
	// "new" was created, started and exited between two snapshots.
	ch := tr.Diff([]State{
		{ID: "old", PodID: "p", Started: true, CreatedAt: 1, StartedAt: 2},
		{ID: "new", PodID: "p", Started: true, Exited: true, CreatedAt: 10, StartedAt: 20, FinishedAt: 30},
	}, now)
	want := []string{"new CREATED", "new STARTED", "new STOPPED"}
	check(t, ch, want)
	// Nothing changed: nothing to report.
	check(t, tr.Diff([]State{
		{ID: "old", PodID: "p", Started: true, CreatedAt: 1, StartedAt: 2},
		{ID: "new", PodID: "p", Started: true, Exited: true, CreatedAt: 10, StartedAt: 20, FinishedAt: 30},
	}, now), nil)
	// "old" (running at start-up) exits, then both are removed.
	check(t, tr.Diff([]State{{ID: "old", PodID: "p", Started: true, Exited: true, CreatedAt: 1, StartedAt: 2, FinishedAt: 50}}, now),
		[]string{"old STOPPED", "new DELETED"})
	check(t, tr.Diff(nil, time.Unix(0, 200)), []string{"old DELETED"})
}

func check(t *testing.T, got []Change, want []string) {
	t.Helper()
	var s []string
	for _, c := range got {
		name := runtimeapi.ContainerEventType_name[int32(c.Type)]
		s = append(s, c.ID+" "+name[len("CONTAINER_"):len(name)-len("_EVENT")])
	}
	if len(s) != len(want) {
		t.Fatalf("got %v, want %v", s, want)
	}
	for i := range s {
		if s[i] != want[i] {
			t.Fatalf("got %v, want %v", s, want)
		}
	}
}
