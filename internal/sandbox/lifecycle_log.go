package sandbox

import (
	"context"

	"github.com/crio-runtime/crio/internal/logging"
)

// LogLifecycle logs a step an operator follows a pod by, at info level as
// CRI-O logs it: its id, name and namespace, or the id as given when
// nothing matches (the request's logger adds the request id).
func (m *Manager) LogLifecycle(ctx context.Context, msg, idOrPrefix string, extra ...any) {
	attrs := []any{"pod", idOrPrefix}
	if sb, err := m.Get(idOrPrefix); err == nil {
		attrs = []any{"pod", sb.ID, "name", sb.Metadata().GetName(), "namespace", sb.Metadata().GetNamespace()}
	}
	logging.From(ctx).InfoContext(ctx, msg, append(attrs, extra...)...)
}
