// Package logging sets up the daemon's slog logger and carries a per-request
// logger in the context.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// LevelTrace is below debug, for CRI-O's "trace".
const LevelTrace = slog.LevelDebug - 4

// ParseLevel maps CRI-O's level names onto slog levels.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "fatal", "panic":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q", s)
}

// Setup is the daemon's logging: a level and filter that SIGHUP can change.
type Setup struct {
	Level  *slog.LevelVar
	filter *filterHandler
}

// New returns a logger writing text or json to w.
func New(w io.Writer, format, level, filter string) (*slog.Logger, *Setup, error) {
	lv := new(slog.LevelVar)
	l, err := ParseLevel(level)
	if err != nil {
		return nil, nil, err
	}
	lv.Set(l)
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, nil, fmt.Errorf("unknown log format %q (want text or json)", format)
	}
	fh := &filterHandler{Handler: h, re: new(atomicRegexp)}
	s := &Setup{Level: lv, filter: fh}
	if err := s.SetFilter(filter); err != nil {
		return nil, nil, err
	}
	return slog.New(fh), s, nil
}

// SetLevel changes the level of the running logger.
func (s *Setup) SetLevel(level string) error {
	l, err := ParseLevel(level)
	if err != nil {
		return err
	}
	s.Level.Set(l)
	return nil
}

// SetFilter changes the message filter; empty logs everything.
func (s *Setup) SetFilter(filter string) error {
	if filter == "" {
		s.filter.re.Store(nil)
		return nil
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return fmt.Errorf("log filter %q: %w", filter, err)
	}
	s.filter.re.Store(re)
	return nil
}

type ctxKey struct{}

// WithLogger stores l in ctx.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the request's logger, or the default one.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
