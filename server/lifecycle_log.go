package server

import (
	"context"

	"github.com/crio-runtime/crio/internal/logging"
)

// The lines an operator follows a container or pod by, at info level as
// CRI-O logs them: each names the object's id and its name (the request's
// logger adds the request id). An id nothing matches is logged as given.

func (s *Server) logContainer(ctx context.Context, msg, idOrPrefix string, extra ...any) {
	attrs := []any{"container", idOrPrefix}
	if c, err := s.containers.Get(idOrPrefix); err == nil {
		attrs = []any{"container", c.ID, "name", c.Metadata().GetName(), "pod", c.PodID}
	}
	logging.From(ctx).InfoContext(ctx, msg, append(attrs, extra...)...)
}

func (s *Server) logPod(ctx context.Context, msg, idOrPrefix string, extra ...any) {
	attrs := []any{"pod", idOrPrefix}
	if sb, err := s.pods.Get(idOrPrefix); err == nil {
		attrs = []any{"pod", sb.ID, "name", sb.Metadata().GetName(), "namespace", sb.Metadata().GetNamespace()}
	}
	logging.From(ctx).InfoContext(ctx, msg, append(attrs, extra...)...)
}
