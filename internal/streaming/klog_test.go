package streaming

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietDisconnects(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(quietDisconnects{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})})
	log.Error("Error on socket receive", "err", errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection"))
	log.Error("copy", "err", errors.New("unexpected EOF"))
	if buf.Len() != 0 {
		t.Fatalf("client disconnects logged at info level: %s", buf.String())
	}
	log.Error("real failure", "err", errors.New("permission denied"))
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("a real error was not logged: %q", buf.String())
	}
	buf.Reset()
	debug := slog.New(quietDisconnects{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}).With("component", "streaming")
	debug.Error("Error on socket receive", "err", errors.New("use of closed network connection"))
	if !strings.Contains(buf.String(), "level=DEBUG") || !strings.Contains(buf.String(), "component=streaming") {
		t.Fatalf("disconnect not kept at debug: %q", buf.String())
	}
}
