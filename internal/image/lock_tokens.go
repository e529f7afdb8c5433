package image

import (
	"errors"
	"io"
	"os"
)

// lockTokens are open containers/storage lock files whose "last write"
// tokens tell that a store changed. Every storage writer records a fresh
// 64-byte token at the start of the store's lock file (lockfile.RecordWrite,
// under the write lock, before the store's data is written), the token
// storage itself compares to decide whether to reload; other processes'
// writes (podman) record one too. One pread per file reads it.
type lockTokens []*os.File

// openLockTokens opens the lock files at paths, all or none.
func openLockTokens(paths []string) (lockTokens, error) {
	var t lockTokens
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.close()
			return nil, err
		}
		t = append(t, f)
	}
	return t, nil
}

// read returns the files' tokens, each after its length, or nil when there
// are no files or one cannot be read. A token read before a store's data
// is never newer than that data: a writer that recorded a newer one holds
// the lock until its write is done.
func (t lockTokens) read() []byte {
	if len(t) == 0 {
		return nil
	}
	out := make([]byte, 0, 65*len(t))
	buf := make([]byte, 64)
	for _, f := range t {
		// A lock file shorter than a token (never written) reads with EOF.
		n, err := f.ReadAt(buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil
		}
		out = append(out, byte(n))
		out = append(out, buf[:n]...)
	}
	return out
}

func (t lockTokens) close() {
	for _, f := range t {
		_ = f.Close()
	}
}
