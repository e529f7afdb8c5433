package image

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/stats"
)

// reserveSize is the room kept in the storage root for deletions on a full
// disk. containers/storage rewrites its records (images.json, layers.json,
// each whole, through a temporary file) before it deletes any file, so on a
// full disk no image could be removed and the kubelet's image garbage
// collection could free nothing.
const reserveSize = 4 << 20

// spaceReserve is a file of reserveSize bytes that a deletion on a nearly
// full disk releases first; it is made again once there is room.
type spaceReserve struct {
	mu   sync.Mutex
	path string
}

// ensure makes the reserve if it is missing and there is room for it.
func (r *spaceReserve) ensure() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ensureLocked()
}

func (r *spaceReserve) ensureLocked() {
	if r.path == "" {
		return
	}
	if st, err := os.Stat(r.path); err == nil && st.Size() == reserveSize {
		return
	}
	tmp := r.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	// Allocated blocks, not a sparse file: the room must really be held.
	err = unix.Fallocate(int(f.Fd()), 0, 0, reserveSize)
	if errors.Is(err, unix.EOPNOTSUPP) {
		_, err = f.Write(make([]byte, reserveSize))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, r.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
}

// around runs del, a deletion, with the reserve released first when the
// disk has less room than the reserve holds: a deletion that fails for lack
// of space cannot simply be run again, as containers/storage has already
// dropped from memory what it could not record. released says it did.
func (r *spaceReserve) around(del func() error) (released bool, err error) {
	if r.path == "" {
		return false, del()
	}
	if fs, err := stats.Filesystem(filepath.Dir(r.path)); err != nil || fs.Available >= reserveSize {
		return false, del()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	released = os.Remove(r.path) == nil
	err = del()
	r.ensureLocked()
	return released, err
}

func reservePath(root string) string { return filepath.Join(root, "crio-space-reserve") }
