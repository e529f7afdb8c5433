package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/pkg/config"
)

// TestCompletionsAreCurrent fails when completions/ was not regenerated
// (make completions) after a flag or command changed.
func TestCompletionsAreCurrent(t *testing.T) {
	app := newApp()
	for shell, file := range map[string]string{"bash": "bash/crio", "zsh": "zsh/_crio", "fish": "fish/crio.fish"} {
		want, err := completion(app, shell)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("../../completions", file))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("completions/%s is out of date: run `make completions`", file)
		}
	}
	if _, err := completion(app, "tcsh"); err == nil {
		t.Error("unknown shell must be an error")
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"2000000", "", time.Second},
		{"2000000", strconv.Itoa(os.Getpid()), time.Second},
		{"2000000", "1", 0}, // meant for another process
		{"nonsense", "", 0},
	} {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		if got := watchdogInterval(); got != tc.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, want %v", tc.usec, tc.pid, got, tc.want)
		}
	}
}

// TestHelpShowsThisHostsDefaults: --help shows the defaults the daemon will
// use here (cgroup_manager depends on whether systemd runs).
func TestHelpShowsThisHostsDefaults(t *testing.T) {
	want := config.Default().Crio.Runtime.CgroupManager
	for _, f := range newApp().Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "cgroup-manager" {
			if sf.Value != want {
				t.Errorf("--help shows cgroup-manager %q, the daemon uses %q", sf.Value, want)
			}
			return
		}
	}
	t.Fatal("no --cgroup-manager flag")
}
