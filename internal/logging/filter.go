package logging

import (
	"context"
	"log/slog"
	"regexp"
	"sync/atomic"
)

type atomicRegexp = atomic.Pointer[regexp.Regexp]

// filterHandler drops records whose message does not match the log_filter.
type filterHandler struct {
	slog.Handler
	re *atomicRegexp
}

func (f *filterHandler) Handle(ctx context.Context, r slog.Record) error {
	if re := f.re.Load(); re != nil && !re.MatchString(r.Message) {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f *filterHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &filterHandler{Handler: f.Handler.WithAttrs(as), re: f.re}
}

func (f *filterHandler) WithGroup(name string) slog.Handler {
	return &filterHandler{Handler: f.Handler.WithGroup(name), re: f.re}
}
