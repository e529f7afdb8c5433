// Package oci runs containers through OCI runtime handlers (runc, crun) and
// the conmon-go monitor.
package oci

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/crio-runtime/crio/pkg/config"
)

// RuntimePath resolves a handler's runtime binary: runtime_path, else the
// handler's name in $PATH.
func RuntimePath(name string, h *config.RuntimeHandler) (string, error) {
	p := h.RuntimePath
	if p == "" {
		p = name
	}
	found, err := lookPath(p)
	if err != nil {
		return "", fmt.Errorf("runtime handler %q: runtime %q not found: %w", name, p, err)
	}
	return found, nil
}

// pathHits remembers where lookPath found each bare name.
var pathHits sync.Map

// lookPath is exec.LookPath for names asked about on every Status call:
// a bare name's $PATH search costs a stat per directory, so where it was
// found is remembered and checked with one stat (still an executable
// file). A remembered binary that went away is searched for again.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	if v, ok := pathHits.Load(name); ok {
		p := v.(string)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
		pathHits.Delete(name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	pathHits.Store(name, p)
	return p, nil
}

// executable is the running binary's path, read once.
var executable = sync.OnceValues(os.Executable)

// MonitorPath resolves the monitor: monitor_path, else conmon-go beside the
// running binary, else conmon-go in $PATH. CRI-O's C conmon is not our
// protocol, so a path to it is replaced by conmon-go (the caller logs that).
func MonitorPath(h *config.RuntimeHandler) (string, error) {
	if h.MonitorPath != "" && !config.IsCConmon(h.MonitorPath) {
		if _, err := lookPath(h.MonitorPath); err != nil {
			return "", fmt.Errorf("monitor %q: %w", h.MonitorPath, err)
		}
		return h.MonitorPath, nil
	}
	if self, err := executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "conmon-go")
		if st, err := os.Stat(beside); err == nil && st.Mode().IsRegular() {
			return beside, nil
		}
	}
	p, err := lookPath("conmon-go")
	if err != nil {
		return "", fmt.Errorf("monitor conmon-go not found beside crio or in $PATH")
	}
	return p, nil
}
