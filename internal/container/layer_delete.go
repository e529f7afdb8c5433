package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containers/storage"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// dropLayer unmounts and deletes storage container id with its writable
// layer. containers/storage records a deletion (layers.json and
// containers.json, each rewritten whole) before it removes any file, so on
// a full disk it frees nothing, and a pod that filled the disk through its
// rootfs would keep it full after the kubelet evicted it. When the deletion
// fails for lack of space, the layer's own files (its upper dir) go first,
// which makes the room the records need, and the deletion runs again.
func dropLayer(st storage.Store, id string) error {
	layerID := ""
	if c, err := st.Container(id); err == nil {
		layerID = c.LayerID
	}
	_, _ = st.Unmount(id, true)
	err := st.DeleteContainer(id)
	if err == nil || !errdefs.OutOfSpace(err) || layerID == "" {
		return unlessGone(err)
	}
	if ferr := emptyUpper(st, layerID); ferr != nil {
		return errors.Join(err, ferr)
	}
	err = st.DeleteContainer(id)
	if unlessGone(err) == nil && st.Exists(layerID) {
		// The first attempt's container record went, its layer did not.
		err = st.DeleteLayer(layerID)
	}
	return unlessGone(err)
}

func unlessGone(err error) error {
	if errors.Is(err, storage.ErrContainerUnknown) || errors.Is(err, storage.ErrNotAContainer) || errors.Is(err, storage.ErrLayerUnknown) {
		return nil
	}
	return err
}

// emptyUpper removes what a container wrote to its writable layer (overlay:
// the layer's diff dir; vfs: the layer's dir), keeping the dir itself for
// the driver's own removal.
func emptyUpper(st storage.Store, layerID string) error {
	d, err := st.GraphDriver()
	if err != nil {
		return err
	}
	var upper string
	switch d.String() {
	case "overlay":
		md, err := d.Metadata(layerID)
		if err != nil {
			return err
		}
		upper = md["UpperDir"]
	case "vfs":
		upper = filepath.Join(st.GraphRoot(), "vfs", "dir", layerID)
	}
	root := filepath.Clean(st.GraphRoot()) + string(filepath.Separator)
	if upper == "" || !strings.HasPrefix(filepath.Clean(upper), root) || !strings.Contains(upper, layerID) {
		return fmt.Errorf("no writable dir of layer %s under %s to free", layerID, root)
	}
	entries, err := os.ReadDir(upper)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(upper, e.Name())))
	}
	return errors.Join(errs...)
}
