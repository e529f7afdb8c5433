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

func visible(all []*Sandbox) []*Sandbox {
	out := all[:0:0]
	for _, sb := range all {
		if !sb.hidden.Load() {
			out = append(out, sb)
		}
	}
	return out
}
