package main

import (
	"os"
	"path/filepath"
	"testing"
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
