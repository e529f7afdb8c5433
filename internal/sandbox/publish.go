package sandbox

import "context"

// A pod made by Run stays hidden from Get and List until the server hands
// its id to a client: a RunPodSandbox whose client gave up keeps its pod
// for the client's repeat, and nothing may act on it meanwhile.

// Publish makes a pod made by Run visible.
func (m *Manager) Publish(id string) {
	if sb, ok := m.index.Get(id); ok {
		sb.hidden.Store(false)
	}
}

// Discard removes a pod made by Run that no client claimed (or one that
// failed after Run), hidden or not. Unknown ids succeed.
func (m *Manager) Discard(ctx context.Context, id string) error {
	sb, ok := m.index.Get(id)
	if !ok {
		return nil
	}
	return m.remove(ctx, sb)
}

// Exists reports whether id is a pod, handed out or not.
func (m *Manager) Exists(id string) bool {
	_, ok := m.Lookup(id)
	return ok
}

// Lookup returns the pod with this full id, handed out or not (for the
// clean-up of an unclaimed pod).
func (m *Manager) Lookup(id string) (*Sandbox, bool) { return m.index.Get(id) }

func visible(all []*Sandbox) []*Sandbox {
	out := all[:0:0]
	for _, sb := range all {
		if !sb.hidden.Load() {
			out = append(out, sb)
		}
	}
	return out
}
