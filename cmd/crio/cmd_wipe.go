package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/containers/storage"
	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/internal/version"
	"github.com/crio-runtime/crio/internal/wipe"
	"github.com/crio-runtime/crio/pkg/config"
)

func wipeCommand() *cli.Command {
	return &cli.Command{
		Name:   "wipe",
		Usage:  "wipe crio's container and image storage (after a reboot, an upgrade or an unclean shutdown)",
		Flags:  []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "force wipe by skipping the version check"}},
		Action: leaf(runWipe),
	}
}

// cmdLogger logs an operator command's progress to stderr at info.
func cmdLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func openStore(cfg *config.Config) (storage.Store, error) {
	c := cfg.Crio
	st, err := storage.GetStore(storage.StoreOptions{RunRoot: c.RunRoot, GraphRoot: c.Root, ImageStore: c.ImageStore, GraphDriverName: c.StorageDriver, GraphDriverOptions: c.StorageOption})
	if err != nil {
		return nil, fmt.Errorf("open storage at %s: %w", c.Root, err)
	}
	return st, nil
}

// runWipe follows CRI-O's crio wipe: containers go when the volatile
// version file says the node rebooted (or the version changed), their images
// too when the persistent one says crio was upgraded, and the whole storage
// directory when the last shutdown was unclean. Unlike CRI-O with
// internal_wipe, the daemon does not wipe at start, so this command always
// does the work. It refuses while a daemon holds the state.
func runWipe(c *cli.Context) error {
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	log := cmdLogger()
	lock, err := state.LockDir(cfg.Crio.StateDir)
	if err != nil {
		return err
	}
	defer lock.Release()

	wipeContainers, wipeImages := true, true
	if !c.Bool("force") {
		if wipeContainers, err = version.ShouldWipe(cfg.Crio.VersionFile); err != nil {
			log.Info("checking whether to wipe containers", "reason", err)
		}
		if wipeImages, err = version.ShouldWipe(cfg.Crio.VersionFilePersist); err != nil {
			log.Info("triggering wipe of images", "reason", err)
		}
	}
	if wipeContainers && wipe.ShutdownWasUnclean(cfg.Crio.CleanShutdownFile) {
		return wipeStorageDir(cfg, log)
	}
	if !wipeContainers {
		log.Info("version unchanged and node not rebooted; no wipe needed")
		return nil
	}
	store, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer func() { _, _ = store.Shutdown(false) }()
	images, err := wipe.Containers(store, cfg.Crio.StateDir, log)
	if err != nil {
		return err
	}
	if wipeImages {
		wipe.Images(store, images, log)
	}
	return nil
}

// wipeStorageDir empties the storage directory once per boot: the marker
// lives beside the volatile version file.
func wipeStorageDir(cfg *config.Config, log *slog.Logger) error {
	marker := filepath.Join(filepath.Dir(cfg.Crio.VersionFile), "crio-wipe-done")
	if _, err := os.Stat(marker); err == nil {
		log.Info("unclean shutdown check already done by a previous crio wipe")
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	log.Info("clean shutdown file not found; wiping the storage directory because of a suspected unclean shutdown",
		"file", cfg.Crio.CleanShutdownFile, "root", cfg.Crio.Root)
	if err := wipe.StorageDirectory(cfg.Crio.Root, cfg.Crio.StateDir); err != nil {
		return fmt.Errorf("failed to remove storage directory: %w", err)
	}
	if err := state.WriteFileAtomic(marker, []byte("done"), 0o644); err != nil {
		log.Warn("unable to create the crio wipe marker file", "error", err)
	}
	return nil
}
