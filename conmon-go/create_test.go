package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crio-runtime/crio/pkg/monitor"
	"golang.org/x/sys/unix"
)

// fakeRuntime writes an executable shell script standing in for runc.
func fakeRuntime(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "fake-runtime")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCreateHugeRuntimeStderr: a runtime writing 100 KiB to stdout and to
// stderr (more than a pipe holds) and failing gets its error (stderr)
// reported, capped, instead of blocking on a pipe until the create timeout.
func TestCreateHugeRuntimeStderr(t *testing.T) {
	c := newCtr(t, []string{"true"}, bundleOpts{})
	c.cfg.Runtime = fakeRuntime(t, c.dir, `head -c 102400 /dev/zero | tr '\0' o
echo first-line >&2
head -c 102400 /dev/zero | tr '\0' e >&2
echo >&2
echo last-line: no such thing >&2
exit 1
`)
	// Well below the monitor's create timeout (a minute), so a blocked
	// runtime fails the test instead of reporting a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := monitor.Start(ctx, monitorBinary(t), &c.cfg)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("want the runtime's error before the deadline, got %v (monitor log: %s)", err, c.monitorLog())
	}
	msg := err.Error()
	if strings.Contains(msg, "ooo") {
		t.Errorf("error has the runtime's stdout, not only its stderr")
	}
	for _, want := range []string{"first-line", "last-line: no such thing", "bytes of runtime output omitted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if len(msg) > captureHead+captureTail+200 {
		t.Errorf("error is %d bytes, more than the cap", len(msg))
	}
}

// TestCreateCancelledKillsRuntime: when the daemon gives up on a create
// (its context ends), the monitor kills the runtime, force-deletes the
// container and exits, instead of waiting out the create timeout.
func TestCreateCancelledKillsRuntime(t *testing.T) {
	c := newCtr(t, []string{"true"}, bundleOpts{})
	pids, calls := filepath.Join(c.dir, "pids"), filepath.Join(c.dir, "calls")
	c.cfg.Runtime = fakeRuntime(t, c.dir, `echo "$@" >> `+calls+`
case "$*" in *" create "*) echo "$$ $PPID" > `+pids+`.tmp; mv `+pids+`.tmp `+pids+`; exec sleep 1000;; esac
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := monitor.Start(ctx, monitorBinary(t), &c.cfg)
		errc <- err
	}()
	waitFor(t, "the runtime to start", func() bool { _, err := os.Stat(pids); return err == nil })
	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data))
	rt, _ := strconv.Atoi(f[0])
	mon, _ := strconv.Atoi(f[1])
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Start: %v, want context.Canceled", err)
	}
	waitFor(t, "the runtime and the monitor to end", func() bool {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(mon, &ws, unix.WNOHANG, nil) // the monitor is our orphan (we are subreaper)
		return unix.Kill(rt, 0) != nil && unix.Kill(mon, 0) != nil
	})
	out, _ := os.ReadFile(calls)
	if !strings.Contains(string(out), "delete --force "+c.id) {
		t.Errorf("runtime calls %q lack a forced delete", out)
	}
	if log := c.monitorLog(); !strings.Contains(log, "cancelled") {
		t.Errorf("monitor log does not say the create was cancelled: %s", log)
	}
}
