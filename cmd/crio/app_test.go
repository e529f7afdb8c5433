package main

import (
	"os"
	"path/filepath"
	"testing"

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
