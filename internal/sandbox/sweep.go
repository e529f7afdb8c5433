package sandbox

import (
	"context"
	"os"
	"path/filepath"

	"github.com/crio-runtime/crio/internal/logging"
)

// sweepFiles runs at the end of Restore: it removes the pod dirs (with
// their shm mounts) no pod record owns, left by a daemon killed after a
// RemovePodSandbox answered but before its background cleanup (see
// remove) finished, or during a RunPodSandbox before its record.
func (m *Manager) sweepFiles(ctx context.Context) {
	entries, err := os.ReadDir(m.opts.RunDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || !isPodID(id) {
			continue // only what RunPodSandbox makes: never an operator's dir
		}
		if _, ok := m.index.Get(id); ok {
			continue
		}
		logging.From(ctx).Warn("removing pod files no record owns", "pod", id)
		if err := RemoveFiles(filepath.Join(m.opts.RunDir, id)); err != nil {
			logging.From(ctx).Error("remove pod files no record owns", "pod", id, "error", err)
		}
	}
}

// isPodID reports whether name is a pod id as RunPodSandbox makes them:
// 64 lowercase hex digits.
func isPodID(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, r := range name {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
