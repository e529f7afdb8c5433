package streaming

import (
	"context"
	"log/slog"
	"strings"
)

// disconnectNoise are the library's error texts when a client simply went
// away (crictl port-forward ended, kubectl exec closed): debug, not error.
var disconnectNoise = []string{"use of closed network connection", "connection reset by peer", "broken pipe"}

// quietDisconnects demotes the streaming library's error lines about a
// client that went away to debug.
type quietDisconnects struct{ slog.Handler }

func (h quietDisconnects) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && clientLeft(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r2 := slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
		r = r2
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietDisconnects) WithAttrs(as []slog.Attr) slog.Handler {
	return quietDisconnects{h.Handler.WithAttrs(as)}
}

func (h quietDisconnects) WithGroup(name string) slog.Handler {
	return quietDisconnects{h.Handler.WithGroup(name)}
}

func clientLeft(r slog.Record) bool {
	left := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" && a.Key != "error" {
			return true
		}
		v := a.Value.String()
		left = strings.HasSuffix(v, "EOF")
		for _, n := range disconnectNoise {
			left = left || strings.Contains(v, n)
		}
		return !left
	})
	return left
}
