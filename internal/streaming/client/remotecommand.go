package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"k8s.io/streaming/pkg/httpstream"
)

// TerminalSize is a tty size sent on the resize stream.
type TerminalSize struct {
	Width  uint16
	Height uint16
}

// Options select the streams of an exec or attach session; they must match
// the flags of the RPC that returned the URL.
type Options struct {
	Stdin          io.Reader // closed (EOF) ends the session's stdin
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan TerminalSize // tty only; may be nil
}

// status is the JSON the server writes on the error stream (protocol v4).
type status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Details *struct {
		Causes []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

// Run runs an exec or attach session on a URL from the Exec or Attach
// RPC with protocol v4.channel.k8s.io and returns the command's exit code:
// a non-zero exit is a code, not an error.
func Run(ctx context.Context, rawURL string, tlsCfg *tls.Config, o Options) (int, error) {
	conn, proto, err := dial(ctx, rawURL, tlsCfg, "v4.channel.k8s.io")
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	if proto != "v4.channel.k8s.io" {
		return -1, fmt.Errorf("server chose protocol %q", proto)
	}
	open := func(kind string) (httpstream.Stream, error) {
		h := http.Header{}
		h.Set("streamType", kind)
		st, err := conn.CreateStream(h)
		if err != nil {
			return nil, fmt.Errorf("create %s stream: %w", kind, err)
		}
		return st, nil
	}
	errStream, err := open("error")
	if err != nil {
		return -1, err
	}
	_ = errStream.Close()
	var copies sync.WaitGroup
	if o.Stdin != nil {
		st, err := open("stdin")
		if err != nil {
			return -1, err
		}
		// Not waited for: a reader that never ends must not hold the session.
		go func() { _, _ = io.Copy(st, o.Stdin); _ = st.Close() }()
	}
	for kind, w := range map[string]io.Writer{"stdout": o.Stdout, "stderr": o.Stderr} {
		if w == nil {
			continue
		}
		st, err := open(kind)
		if err != nil {
			return -1, err
		}
		_ = st.Close()
		copies.Add(1)
		go func() { defer copies.Done(); _, _ = io.Copy(w, st) }()
	}
	if o.TTY {
		st, err := open("resize")
		if err != nil {
			return -1, err
		}
		go sendResizes(ctx, st, o.Resize)
	}
	done := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(errStream); done <- b }()
	var raw []byte
	select {
	case raw = <-done:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	copies.Wait()
	return parseStatus(raw)
}

func sendResizes(ctx context.Context, st httpstream.Stream, sizes <-chan TerminalSize) {
	defer st.Close()
	enc := json.NewEncoder(st)
	for {
		select {
		case <-ctx.Done():
			return
		case sz, ok := <-sizes:
			if !ok {
				return
			}
			if enc.Encode(sz) != nil {
				return
			}
		}
	}
}

func parseStatus(raw []byte) (int, error) {
	if len(raw) == 0 {
		return 0, nil
	}
	var st status
	if err := json.Unmarshal(raw, &st); err != nil {
		return -1, fmt.Errorf("bad status %q: %w", raw, err)
	}
	switch {
	case st.Status == "Success":
		return 0, nil
	case st.Reason == "NonZeroExitCode" && st.Details != nil:
		for _, c := range st.Details.Causes {
			if c.Reason == "ExitCode" {
				code, err := strconv.Atoi(c.Message)
				if err != nil {
					return -1, fmt.Errorf("bad exit code %q", c.Message)
				}
				return code, nil
			}
		}
	}
	return -1, fmt.Errorf("stream failed: %s", st.Message)
}
