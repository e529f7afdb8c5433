// Package framework is the integration-test harness: it builds the binaries
// once, starts crio with a private config (own socket, state, storage, CNI
// conf dir and log dir), gives a CRI client, and stops and cleans everything.
package framework

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// BuildTags are the tags every binary is built with.
const BuildTags = "containers_image_openpgp exclude_graphdriver_btrfs nri_no_wasm"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// RepoRoot is the module's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries returns the directory holding crio and conmon-go. `make test`
// builds them and sets CRIO_BIN_DIR; otherwise they are built once per test
// process.
func Binaries(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("CRIO_BIN_DIR"); d != "" {
		return d
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "crio-bin-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"./cmd/crio", "./conmon-go", "./cmd/pause"} {
			cmd := exec.Command("go", "build", "-tags", BuildTags, "-o", binDir+"/", pkg)
			cmd.Dir = RepoRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = &buildError{pkg: pkg, out: string(out), err: err}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("build binaries: %v", buildErr)
	}
	return binDir
}

type buildError struct {
	pkg, out string
	err      error
}

func (e *buildError) Error() string { return e.pkg + ": " + e.err.Error() + "\n" + e.out }

// RequireRoot skips tests that need root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}
