package pending

import (
	"context"
	"errors"
	"testing"
	"time"
)

// gated returns work that reports its start, waits for gate and yields v.
func gated(v string, started, gate chan struct{}) Work[string] {
	return func(ctx context.Context, stage func(string)) (string, error) {
		stage("step one")
		close(started)
		<-gate
		return v, nil
	}
}

func TestRepeatClaimsTheFirstResult(t *testing.T) {
	var stalls []string
	c := &Cache[string]{Keep: time.Hour, Stalled: func(_, stage string) { stalls = append(stalls, stage) }}
	started, gate := make(chan struct{}), make(chan struct{})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Do(gone, "pod/a", "d1", gated("id1", started, gate)); !errors.Is(err, context.Canceled) {
		t.Fatalf("first Do = %v, want canceled", err)
	}
	<-started
	got := make(chan string)
	go func() {
		v, repeat, err := c.Do(context.Background(), "pod/a", "d1", gated("id2", make(chan struct{}), gate))
		if err != nil || !repeat {
			t.Errorf("repeat Do: repeat=%v err=%v", repeat, err)
		}
		got <- v
	}()
	for n := 0; n == 0; time.Sleep(time.Millisecond) {
		c.mu.Lock() // Stalled runs under it
		n = len(stalls)
		c.mu.Unlock()
	}
	close(gate)
	if v := <-got; v != "id1" {
		t.Errorf("repeat got %q, want the first run's id1", v)
	}
	if len(stalls) != 1 || stalls[0] != "step one" {
		t.Errorf("stalls = %v", stalls)
	}
	if c.Len() != 0 {
		t.Errorf("claimed result still cached")
	}
}

func TestUnclaimedAndDifferingAreDiscarded(t *testing.T) {
	discarded := make(chan string, 2)
	c := &Cache[string]{Keep: 10 * time.Millisecond, Discard: func(_ string, v string) { discarded <- v }}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	started, gate := make(chan struct{}), make(chan struct{})
	close(gate)
	_, _, _ = c.Do(gone, "pod/a", "d1", gated("id1", started, gate))
	if v := <-discarded; v != "id1" {
		t.Errorf("discarded %q after keep, want id1", v)
	}

	c.Keep = time.Hour
	started = make(chan struct{})
	_, _, _ = c.Do(gone, "pod/b", "d1", gated("id2", started, gate))
	for c.done("pod/b") == false {
		time.Sleep(time.Millisecond)
	}
	v, repeat, err := c.Do(context.Background(), "pod/b", "d2", gated("id3", make(chan struct{}), gate))
	if err != nil || repeat || v != "id3" {
		t.Errorf("differing Do = %q, %v, %v; want a fresh id3", v, repeat, err)
	}
	if v := <-discarded; v != "id2" {
		t.Errorf("discarded %q on a differing request, want id2", v)
	}
}

func (c *Cache[T]) done(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	return ok && e.isDone()
}

func TestDifferingWhileRunningIsBusy(t *testing.T) {
	c := &Cache[string]{Keep: time.Hour}
	started, gate := make(chan struct{}), make(chan struct{})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, _ = c.Do(gone, "pod/a", "d1", gated("id1", started, gate))
	<-started
	if _, _, err := c.Do(context.Background(), "pod/a", "d2", gated("x", make(chan struct{}), gate)); !errors.Is(err, ErrBusy) {
		t.Errorf("differing Do while running = %v, want ErrBusy", err)
	}
	close(gate)
}
