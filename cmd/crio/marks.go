package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/internal/version"
	"github.com/crio-runtime/crio/pkg/config"
)

// markStarted leaves what `crio wipe` reads, as CRI-O does at start: the
// version files (the volatile one disappears at reboot, the persistent one
// shows upgrades), and no clean-shutdown file, with "<file>.supported" saying
// that its absence now means the daemon did not stop cleanly.
func markStarted(cfg *config.Config) error {
	for _, f := range []string{cfg.Crio.VersionFile, cfg.Crio.VersionFilePersist} {
		if err := version.WriteFile(f); err != nil {
			return err
		}
	}
	f := cfg.Crio.CleanShutdownFile
	if f == "" {
		return nil
	}
	if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clean shutdown file: %w", err)
	}
	if err := state.WriteFileAtomic(f+".supported", nil, 0o644); err != nil {
		return fmt.Errorf("clean shutdown file: %w", err)
	}
	return nil
}

// markCleanShutdown records, after the stores are closed and synced, that
// storage is consistent.
func markCleanShutdown(cfg *config.Config) error {
	f := cfg.Crio.CleanShutdownFile
	if f == "" {
		return nil
	}
	syscall.Sync()
	if err := state.WriteFileAtomic(f, nil, 0o644); err != nil {
		return fmt.Errorf("clean shutdown file: %w", err)
	}
	return nil
}
