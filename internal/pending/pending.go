// Package pending keeps pod and container creations whose client gave up.
//
// A kubelet whose RunPodSandbox or CreateContainer outlives its deadline
// cancels the call and later repeats it with the same name. The creation
// runs detached from the caller, so it finishes anyway; its result waits
// here until a repeat of the same request claims it, and is discarded when
// no repeat comes within the keep time or when a request with the same name
// but a different content arrives.
package pending

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Work is one creation. It runs with a context the caller's cancellation
// does not reach; stage names the step it is at (for the stall metric).
type Work[T any] func(ctx context.Context, stage func(string)) (T, error)

// Cache holds the creations in progress and the unclaimed results, by name.
type Cache[T any] struct {
	// Keep is how long an unclaimed result waits for its repeat.
	Keep time.Duration
	// Limit bounds a detached creation.
	Limit time.Duration
	// Discard undoes an unclaimed result (a differing request, or Keep
	// elapsed). It runs without the cache's lock.
	Discard func(name string, v T)
	// Stalled is called when a repeat finds the creation still running,
	// with the stage it is at.
	Stalled func(name, stage string)

	mu sync.Mutex
	m  map[string]*entry[T]
}

type entry[T any] struct {
	digest  string
	stage   string
	done    chan struct{}
	val     T
	err     error
	claimed bool // handed to a caller, or discarded
	timer   *time.Timer
}

// ErrBusy is returned to a request whose name is being created by a
// differing request that is still running.
var ErrBusy = errors.New("a differing request with the same name is still being created")

// Do runs work for name, or joins the creation of name already under way
// when digest (a hash of the request) is the same, and returns its result
// once finished, unless ctx ends first. The result goes to exactly one
// caller; a creation finished after all its callers gave up waits for a
// repeat. repeat reports whether the result came from an earlier request.
func (c *Cache[T]) Do(ctx context.Context, name, digest string, work Work[T]) (v T, repeat bool, err error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*entry[T]{}
	}
	e, ok := c.m[name]
	for ok && e.digest != digest {
		if !e.isDone() {
			c.mu.Unlock()
			return v, false, ErrBusy
		}
		// Finished, unclaimed and differing: the kubelet moved on. The
		// old result goes before this request reserves the same name.
		undo := c.dropLocked(name, e)
		c.mu.Unlock()
		undo()
		c.mu.Lock()
		e, ok = c.m[name]
	}
	if ok {
		repeat = true
		if !e.isDone() && c.Stalled != nil {
			c.Stalled(name, e.stage)
		}
	} else {
		e = &entry[T]{digest: digest, done: make(chan struct{})}
		c.m[name] = e
		go c.run(ctx, name, e, work)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
	case <-ctx.Done():
		return v, repeat, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.claimed || ctx.Err() != nil {
		// Another caller took it (or this one has gone meanwhile).
		if ctx.Err() != nil {
			return v, repeat, ctx.Err()
		}
		return v, repeat, ErrBusy
	}
	e.claimed = true
	if c.m[name] == e {
		delete(c.m, name)
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	return e.val, repeat, e.err
}

func (e *entry[T]) isDone() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// run does the work detached from the caller and, on success, arms the
// discard of a result nobody claims.
func (c *Cache[T]) run(ctx context.Context, name string, e *entry[T], work Work[T]) {
	wctx := context.WithoutCancel(ctx)
	if c.Limit > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, c.Limit)
		defer cancel()
	}
	val, err := work(wctx, func(stage string) {
		c.mu.Lock()
		e.stage = stage
		c.mu.Unlock()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	e.val, e.err = val, err
	close(e.done)
	if err != nil {
		// A failed creation undid itself: nothing to keep. Its waiters
		// still read the error from e.
		if c.m[name] == e {
			delete(c.m, name)
		}
		return
	}
	e.timer = time.AfterFunc(c.Keep, func() {
		c.mu.Lock()
		if c.m[name] != e || e.claimed {
			c.mu.Unlock()
			return
		}
		undo := c.dropLocked(name, e)
		c.mu.Unlock()
		undo()
	})
}

// dropLocked forgets a finished, unclaimed entry; the returned func
// discards its result and must run without the lock (it does I/O).
func (c *Cache[T]) dropLocked(name string, e *entry[T]) func() {
	delete(c.m, name)
	e.claimed = true
	if e.timer != nil {
		e.timer.Stop()
	}
	if e.err != nil || c.Discard == nil {
		return func() {}
	}
	return func() { c.Discard(name, e.val) }
}

// Len is the number of creations running or waiting to be claimed.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
