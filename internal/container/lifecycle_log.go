package container

import (
	"context"

	"github.com/crio-runtime/crio/internal/logging"
)

// LogLifecycle logs a step an operator follows a container by, at info
// level as CRI-O logs it: its id, name and pod, or the id as given when
// nothing matches (the request's logger adds the request id).
func (m *Manager) LogLifecycle(ctx context.Context, msg, idOrPrefix string, extra ...any) {
	attrs := []any{"container", idOrPrefix}
	if c, err := m.Get(idOrPrefix); err == nil {
		attrs = []any{"container", c.ID, "name", c.Metadata().GetName(), "pod", c.PodID}
	}
	logging.From(ctx).InfoContext(ctx, msg, append(attrs, extra...)...)
}
