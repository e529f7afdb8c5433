// Package oci runs containers through OCI runtime handlers (runc, crun) and
// the conmon-go monitor.
package oci

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/crio-runtime/crio/pkg/config"
)

// RuntimePath resolves a handler's runtime binary: runtime_path, else the
// handler's name in $PATH.
func RuntimePath(name string, h *config.RuntimeHandler) (string, error) {
	p := h.RuntimePath
	if p == "" {
		p = name
	}
	found, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("runtime handler %q: runtime %q not found: %w", name, p, err)
	}
	return found, nil
}

// MonitorPath resolves the monitor: monitor_path, else conmon-go beside the
// running binary, else conmon-go in $PATH. CRI-O's C conmon is not our
// protocol, so a path to it is replaced by conmon-go (the caller logs that).
func MonitorPath(h *config.RuntimeHandler) (string, error) {
	if h.MonitorPath != "" && !config.IsCConmon(h.MonitorPath) {
		if _, err := exec.LookPath(h.MonitorPath); err != nil {
			return "", fmt.Errorf("monitor %q: %w", h.MonitorPath, err)
		}
		return h.MonitorPath, nil
	}
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "conmon-go")
		if st, err := os.Stat(beside); err == nil && st.Mode().IsRegular() {
			return beside, nil
		}
	}
	p, err := exec.LookPath("conmon-go")
	if err != nil {
		return "", fmt.Errorf("monitor conmon-go not found beside crio or in $PATH")
	}
	return p, nil
}
