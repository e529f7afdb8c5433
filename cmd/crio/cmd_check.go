package main

import (
	"fmt"
	"time"

	"github.com/containers/storage"
	"github.com/urfave/cli/v2"

	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/internal/wipe"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the storage directory for errors (and repair it with --repair)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "age", Aliases: []string{"a"}, Value: "24h", Usage: "Maximum allowed age for unreferenced layers"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "Remove damaged containers"},
			&cli.BoolFlag{Name: "repair", Aliases: []string{"r"}, Usage: "Remove damaged images and layers"},
			&cli.BoolFlag{Name: "quick", Aliases: []string{"q"}, Usage: "Perform only quick checks"},
			&cli.BoolFlag{Name: "wipe", Aliases: []string{"w"}, Usage: "Wipe storage directory on repair failure"},
		},
		Action: leaf(runCheck),
	}
}

// runCheck runs containers/storage's integrity check as CRI-O's crio check
// does; a report with errors is an error (exit 1) unless --repair fixed it.
// Repairing takes the state lock, so it refuses while a daemon runs.
func runCheck(c *cli.Context) error {
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	log := cmdLogger()
	opts := storage.CheckEverything()
	if c.Bool("quick") {
		opts = storage.CheckMost()
	}
	if a := c.String("age"); a != "" {
		age, err := time.ParseDuration(a)
		if err != nil {
			return fmt.Errorf("unable to parse age duration: %w", err)
		}
		opts.LayerUnreferencedMaximumAge = &age
	}
	if c.Bool("repair") {
		lock, err := state.LockDir(cfg.Crio.StateDir)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	store, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer func() { _, _ = store.Shutdown(true) }()
	root := store.GraphRoot()
	log.Info("checking storage directory for errors", "root", root)
	report, err := store.Check(opts)
	if err != nil {
		return fmt.Errorf("unable to check storage: %w", err)
	}
	for kind, m := range map[string]map[string][]error{"layer": report.Layers, "read-only layer": report.ROLayers,
		"image": report.Images, "read-only image": report.ROImages, "container": report.Containers} {
		for id, errs := range m {
			for _, e := range errs {
				log.Info("storage error", "kind", kind, "id", id, "error", e)
			}
		}
	}
	n := len(report.Layers) + len(report.ROLayers) + len(report.Images) + len(report.ROImages) + len(report.Containers)
	if n == 0 {
		log.Info("storage directory has no errors", "root", root)
		return nil
	}
	if !c.Bool("repair") {
		return fmt.Errorf("%d layer errors, %d read-only layer errors, %d image errors, %d read-only image errors, %d container errors",
			len(report.Layers), len(report.ROLayers), len(report.Images), len(report.ROImages), len(report.Containers))
	}
	log.Info("attempting to repair storage directory", "root", root, "remove_containers", c.Bool("force"))
	errs := store.Repair(report, &storage.RepairOptions{RemoveContainers: c.Bool("force")})
	if len(errs) == 0 {
		log.Info("storage directory repaired", "root", root)
		return nil
	}
	for _, e := range errs {
		log.Error("repair", "error", e)
	}
	if !c.Bool("wipe") {
		return fmt.Errorf("unable to repair storage directory %s: %d errors", root, len(errs))
	}
	_, _ = store.Shutdown(true)
	log.Warn("wiping storage directory after the repair failed", "root", root)
	return wipe.StorageDirectory(cfg.Crio.Root, cfg.Crio.StateDir)
}
