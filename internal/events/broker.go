// Package events fans container lifecycle events out to GetContainerEvents
// subscribers. Publishing never blocks: each subscriber has a bounded
// buffer, and an event that does not fit is dropped and counted.
package events

import (
	"sync"
	"sync/atomic"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultBuffer is the per-subscriber buffer: a few seconds of a busy node.
const DefaultBuffer = 1000

// Event is what GetContainerEvents streams.
type Event = runtimeapi.ContainerEventResponse

// Broker delivers every published event to every subscriber.
type Broker struct {
	buf     int
	onDrop  func()
	mu      sync.RWMutex
	subs    map[*Subscription]struct{}
	dropped atomic.Uint64
	sent    atomic.Uint64
}

// NewBroker returns a broker with buf events of room per subscriber;
// onDrop (may be nil) is called for every dropped event, for a metric.
func NewBroker(buf int, onDrop func()) *Broker {
	if buf <= 0 {
		buf = DefaultBuffer
	}
	return &Broker{buf: buf, onDrop: onDrop, subs: map[*Subscription]struct{}{}}
}

// Subscription is one subscriber's queue.
type Subscription struct {
	b       *Broker
	ch      chan *Event
	dropped atomic.Uint64
	once    sync.Once
}

// Subscribe adds a subscriber; Close removes it.
func (b *Broker) Subscribe() *Subscription {
	s := &Subscription{b: b, ch: make(chan *Event, b.buf)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Events is the subscriber's queue; it is closed by Close.
func (s *Subscription) Events() <-chan *Event { return s.ch }

// Dropped counts events this subscriber missed because its buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close unsubscribes; it is safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.b.mu.Lock()
		delete(s.b.subs, s)
		close(s.ch) // under the lock: Publish never sends on a closed channel
		s.b.mu.Unlock()
	})
}

// Publish offers ev to every subscriber without waiting for any of them.
func (b *Broker) Publish(ev *Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		select {
		case s.ch <- ev:
			b.sent.Add(1)
		default:
			s.dropped.Add(1)
			b.dropped.Add(1)
			if b.onDrop != nil {
				b.onDrop()
			}
		}
	}
}

// Dropped is the total of events dropped across all subscribers.
func (b *Broker) Dropped() uint64 { return b.dropped.Load() }

// Subscribers is the number of current subscribers.
func (b *Broker) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}
