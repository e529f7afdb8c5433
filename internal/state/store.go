// Package state keeps the daemon's records on disk, one JSON file per
// object, written atomically (temp + fsync + rename + dir fsync), so a daemon
// killed at any point finds either the old or the new record, never half.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Store is a directory of records grouped by kind ("pods", "containers").
type Store struct{ dir string }

// Open creates the store's directory if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) path(kind, id string) (string, error) {
	if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return "", fmt.Errorf("invalid record id %q", id)
	}
	return filepath.Join(s.dir, kind, id+".json"), nil
}

// Put writes v as the record kind/id.
func (s *Store) Put(kind, id string, v any) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	return WriteFileAtomic(p, data, 0o600)
}

// PutJSON writes data, v's JSON encoding, as the record kind/id: for a
// caller that encodes under its own lock and writes after releasing it.
func (s *Store) PutJSON(kind, id string, data []byte) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	return WriteFileAtomic(p, data, 0o600)
}

// Delete removes the record; a missing one is not an error.
func (s *Store) Delete(kind, id string) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// List returns every record of kind, decoded by decode. Leftover temp files
// from a crash are removed.
func (s *Store) List(kind string, decode func(id string, data []byte) error) error {
	dir := filepath.Join(s.dir, kind)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := decode(strings.TrimSuffix(name, ".json"), data); err != nil {
			return fmt.Errorf("record %s/%s: %w", kind, name, err)
		}
	}
	return nil
}

// WriteFileAtomic replaces path with data: temp file, fsync, rename, fsync
// dir. It uses the raw syscalls: os.OpenFile would try each file (and the
// directory) for the poller, four extra fcntl calls per open on a path
// every container change takes.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, fd, err := createTemp(dir, ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = writeAll(fd, data)
	if err == nil {
		err = unix.Fchmod(fd, uint32(perm.Perm()))
	}
	if err == nil {
		err = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// createTemp creates a new file named prefix plus a random number in dir,
// as os.CreateTemp does (mode 0600 before the caller's chmod).
func createTemp(dir, prefix string) (string, int, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err == nil {
			return name, fd, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return "", -1, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
	return "", -1, fmt.Errorf("no unused temporary name in %s", dir)
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}
