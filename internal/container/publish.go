package container

import "context"

// A container made by Create stays hidden from Get, List and Snapshot
// until the server hands its id to a client: a CreateContainer whose
// client gave up keeps its container for the client's repeat, and nothing
// may act on it meanwhile. Removing its pod removes it too.

// Publish makes a container made by Create visible.
func (m *Manager) Publish(id string) {
	if c, ok := m.index.Get(id); ok {
		c.hidden.Store(false)
	}
}

// Discard removes a container made by Create that no client claimed,
// hidden or not. Unknown ids succeed.
func (m *Manager) Discard(ctx context.Context, id string) error {
	c, ok := m.index.Get(id)
	if !ok {
		return nil
	}
	return m.remove(ctx, c)
}

func visible(all []*Container) []*Container {
	out := all[:0:0]
	for _, c := range all {
		if !c.hidden.Load() {
			out = append(out, c)
		}
	}
	return out
}

// Lookup finds a container by its full id, hidden or not.
func (m *Manager) Lookup(id string) (*Container, bool) { return m.index.Get(id) }
