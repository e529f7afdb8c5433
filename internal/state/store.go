// Package state keeps the daemon's records on disk, one JSON file per
// object, written atomically (temp + fsync + rename + dir fsync), so a daemon
// killed at any point finds either the old or the new record, never half.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// WriteFileAtomic replaces path with data: temp file, fsync, rename, fsync dir.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
