// Package wipe removes what a reboot or an upgrade made stale, as CRI-O's
// `crio wipe` does: the containers (storage layers and records) after a
// reboot, their images too after an upgrade, and the whole storage directory
// after an unclean shutdown.
package wipe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/containers/storage"
	"github.com/moby/sys/mountinfo"

	"github.com/crio-runtime/crio/internal/state"
)

// containerKind is the record kind of containers in the state dir.
const containerKind = "containers"

// spareMark is the storage metadata of the daemon's pre-made layers.
const spareMark = `{"crio-spare-layer":true}`

// Containers removes every container crio recorded in stateDir: its
// writable layer in store and its record. Pod records stay, so the
// restarted daemon still tears their networks down when the kubelet removes
// them. It returns the ids of the images those containers used.
func Containers(store storage.Store, stateDir string, log *slog.Logger) ([]string, error) {
	st, err := state.Open(stateDir)
	if err != nil {
		return nil, err
	}
	var ids, images []string
	err = st.List(containerKind, func(id string, data []byte) error {
		var rec struct {
			ImageID string `json:"imageId"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			log.Warn("unreadable container record; removing it", "id", id, "error", err)
		}
		ids = append(ids, id)
		if rec.ImageID != "" {
			images = append(images, rec.ImageID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read container records: %w", err)
	}
	if len(ids) > 0 {
		log.Info("wiping containers", "count", len(ids))
	}
	for _, id := range ids {
		if err := dropLayer(store, id); err != nil {
			log.Error("unable to delete container", "id", id, "error", err)
			continue
		}
		if err := st.Delete(containerKind, id); err != nil {
			return nil, fmt.Errorf("remove record of %s: %w", id, err)
		}
		log.Info("deleted container", "id", id)
	}
	// Spare layers made ahead of time belong to no record.
	if cs, err := store.Containers(); err == nil {
		for _, c := range cs {
			if c.Metadata == spareMark {
				_ = dropLayer(store, c.ID)
			}
		}
	}
	return images, nil
}

func dropLayer(store storage.Store, id string) error {
	if _, err := store.Unmount(id, true); err != nil && !errors.Is(err, storage.ErrContainerUnknown) && !errors.Is(err, storage.ErrLayerUnknown) {
		return fmt.Errorf("unmount: %w", err)
	}
	if err := store.DeleteContainer(id); err != nil && !errors.Is(err, storage.ErrContainerUnknown) && !errors.Is(err, storage.ErrNotAContainer) {
		return err
	}
	return nil
}

// Images removes the given images; one another container still uses stays.
func Images(store storage.Store, ids []string, log *slog.Logger) {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := store.DeleteImage(id, true); err != nil {
			if !errors.Is(err, storage.ErrImageUnknown) {
				log.Error("unable to delete image", "id", id, "error", err)
			}
			continue
		}
		log.Info("deleted image", "id", id)
	}
}

// ShutdownWasUnclean applies CRI-O's rule: the daemon marked support for the
// clean-shutdown file at start ("<file>.supported") and the file is missing.
func ShutdownWasUnclean(cleanShutdownFile string) bool {
	if cleanShutdownFile == "" {
		return false
	}
	if _, err := os.Stat(cleanShutdownFile + ".supported"); err != nil {
		return false
	}
	_, err := os.Stat(cleanShutdownFile)
	return errors.Is(err, fs.ErrNotExist)
}

// StorageDirectory empties the storage root (images, layers, containers)
// and removes crio's container records: after an unclean shutdown their
// contents cannot be trusted. It refuses while a layer is mounted.
func StorageDirectory(root, stateDir string) error {
	if root == "" || root == "/" || !filepath.IsAbs(root) {
		return fmt.Errorf("refusing to remove storage directory %q", root)
	}
	if mounted, err := mountedUnder(root); err != nil {
		return err
	} else if mounted != "" {
		return fmt.Errorf("storage directory %s is in use: %s is mounted", root, mounted)
	}
	// Everything in root goes, except the directory holding crio's own
	// state when that lives below root (its default when root is moved).
	keep := ""
	if rel, err := filepath.Rel(root, stateDir); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
		keep = strings.Split(rel, string(filepath.Separator))[0]
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage directory: %w", err)
	}
	for _, e := range entries {
		if e.Name() == keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return fmt.Errorf("remove storage directory: %w", err)
		}
	}
	if err := os.RemoveAll(filepath.Join(stateDir, containerKind)); err != nil {
		return fmt.Errorf("remove container records: %w", err)
	}
	return nil
}

// mountedUnder returns a mount point below dir, if any.
func mountedUnder(dir string) (string, error) {
	prefix := filepath.Clean(dir) + "/"
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		below := strings.HasPrefix(m.Mountpoint, prefix)
		return !below, below
	})
	if err != nil || len(mounts) == 0 {
		return "", err
	}
	return mounts[0].Mountpoint, nil
}
