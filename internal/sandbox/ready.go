package sandbox

import "github.com/crio-runtime/crio/internal/errdefs"

// GetReady resolves a pod that can take streams (port-forward): NotFound
// if unknown, FailedPrecondition if not ready.
func (m *Manager) GetReady(idOrPrefix string) (*Sandbox, error) {
	sb, err := m.Get(idOrPrefix)
	if err != nil {
		return nil, err
	}
	if !sb.IsReady() {
		return nil, errdefs.FailedPrecondition("pod sandbox %s is not ready", sb.ID)
	}
	return sb, nil
}

// ReadyNetNS is a ready pod's network namespace, where port-forward
// connects.
func (m *Manager) ReadyNetNS(podID string) (string, error) {
	sb, err := m.GetReady(podID)
	if err != nil {
		return "", err
	}
	return sb.Namespace(NetNS), nil
}
