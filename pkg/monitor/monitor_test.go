package monitor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{Version: Version, ID: "abc", Bundle: "/b", Runtime: "/usr/bin/runc", ExitDir: "/e",
		AttachSocket: "/r/attach", ControlSocket: "/r/ctl"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"wrong version", func(c *Config) { c.Version = Version + 1 }, false},
		{"id with slash", func(c *Config) { c.ID = "a/b" }, false},
		{"dot id", func(c *Config) { c.ID = ".." }, false},
		{"no bundle", func(c *Config) { c.Bundle = "" }, false},
		{"long socket", func(c *Config) { c.AttachSocket = "/" + strings.Repeat("x", 107) }, false},
		{"negative limit", func(c *Config) { c.LogSizeMax = -1 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestExitRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadExit(dir, "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing record: %v", err)
	}
	want := ExitRecord{ExitCode: 137, Signal: 9, FinishedAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), OOMKilled: true}
	if err := WriteExit(dir, "x", &want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExit(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !got.FinishedAt.Equal(want.FinishedAt) || got.ExitCode != 137 || got.Signal != 9 || !got.OOMKilled {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "x"))
	if !bytes.Contains(data, []byte(`"finishedAt":"2024-01-02T03:04:05.000000006Z"`)) {
		t.Fatalf("finishedAt not RFC 3339 with nanoseconds: %s", data)
	}
}

func TestControlClient(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reqs := make(chan string, 2)
	go func() {
		for _, reply := range []string{"ok\n", "error no terminal\n"} {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			reqs <- line
			_, _ = c.Write([]byte(reply))
			c.Close()
		}
	}()
	ctx := context.Background()
	if err := ReopenLog(ctx, path); err != nil {
		t.Fatal(err)
	}
	if got := <-reqs; got != "reopen\n" {
		t.Errorf("request %q", got)
	}
	err = Resize(ctx, path, Size{Rows: 24, Cols: 80})
	if err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("resize error %v", err)
	}
	if got := <-reqs; got != "resize 24 80\n" {
		t.Errorf("request %q", got)
	}
	if err := ReopenLog(ctx, filepath.Join(t.TempDir(), "gone")); !errors.Is(err, ErrMonitorGone) {
		t.Errorf("missing socket: %v", err)
	}
}

func TestAttachFraming(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attach")
	ln, err := net.Listen("unixpacket", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write(append([]byte{byte(Stdout)}, "out"...))
		_, _ = c.Write(append([]byte{byte(Stderr)}, "err"...))
		var msgs []string
		buf := make([]byte, 1+MaxPayload)
		for len(msgs) < 3 {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			msgs = append(msgs, string(buf[:n]))
		}
		got <- msgs
	}()
	resize := make(chan Size, 1)
	resize <- Size{Rows: 1, Cols: 2}
	var stdout, stderr bytes.Buffer
	if err := Attach(context.Background(), path, strings.NewReader("in"), &stdout, &stderr, resize); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "out" || stderr.String() != "err" {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	msgs := <-got
	idx := map[string]int{}
	for i, m := range msgs {
		idx[m] = i + 1
	}
	// Resize and stdin travel on separate goroutines; only stdin's order
	// relative to its end is fixed.
	if idx["\x00in"] == 0 || idx["\x02"] == 0 || idx["\x01\x00\x01\x00\x02"] == 0 || idx["\x00in"] > idx["\x02"] {
		t.Errorf("client messages %q", msgs)
	}
}
