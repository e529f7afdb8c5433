package image

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// errUnverified is what a spool's reader returns before the download
// vouched for the layer; applyFetched never lets it get that far.
var errUnverified = errors.New("layer not verified yet")

// spool holds one layer's uncompressed tar between its download (fetch,
// the writer) and its apply (storage's PutLayer, the reader). The apply
// starts only once the whole layer checked out (digests, sizes, scan; see
// applyFetched), so storage never reads a byte the download has not
// vouched for, and never holds its layer store's lock while the network
// is slow. It keeps the bytes in memory up to memSpoolMax, then all of
// them in an unlinked file under dir.
type spool struct {
	dir    string
	hint   int // initial in-memory capacity, allocated at the first write
	mu     sync.Mutex
	buf    []byte
	f      *os.File
	size   int64 // bytes written
	done   bool
	err    error // the download's verdict, once done
	werr   error // a failed write to the spool itself
	gotEOF bool  // a reader was handed EOF (it read the whole layer)
}

func newSpool(dir string, blobSize int64) *spool {
	return &spool{dir: dir, hint: int(min(max(2*blobSize, 0), memSpoolMax))}
}

// Write appends to the spool.
func (s *spool) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.werr != nil {
		return 0, s.werr
	}
	if s.done {
		return 0, errors.New("spool layer: write after the download ended")
	}
	if s.f == nil && int64(len(s.buf)+len(b)) > memSpoolMax {
		if s.werr = s.toFile(); s.werr != nil {
			return 0, s.werr
		}
	}
	n := len(b)
	if s.f == nil {
		if s.buf == nil { // not before: layers wait their turn (fastHeld) unallocated
			s.buf = make([]byte, 0, max(s.hint, len(b)))
		}
		s.buf = append(s.buf, b...)
	} else if n, s.werr = s.f.WriteAt(b, s.size); s.werr != nil {
		s.werr = fmt.Errorf("spool layer: %w", s.werr)
	}
	s.size += int64(n)
	return n, s.werr
}

// toFile moves the bytes so far into an unlinked temp file. Needs mu.
func (s *spool) toFile() error {
	f, err := os.CreateTemp(s.dir, "layer-")
	if err != nil {
		return fmt.Errorf("spool layer: %w", err)
	}
	_ = os.Remove(f.Name()) // gone with the descriptor, even after a crash
	if _, err := f.WriteAt(s.buf, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("spool layer: %w", err)
	}
	s.f, s.buf = f, nil
	return nil
}

// finish ends the download with its verdict: only after finish(nil) does
// a reader see the layer.
func (s *spool) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done, s.err = true, err
	}
}

// reader reads the spool from its start.
func (s *spool) reader() io.Reader { return &spoolReader{s: s} }

type spoolReader struct {
	s   *spool
	off int64
}

func (r *spoolReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	switch {
	case !s.done:
		s.mu.Unlock()
		return 0, errUnverified
	case s.err != nil:
		s.mu.Unlock()
		return 0, s.err
	case r.off >= s.size:
		s.gotEOF = true
		s.mu.Unlock()
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-r.off))
	if s.f == nil {
		copy(p, s.buf[r.off:r.off+int64(n)])
		s.mu.Unlock()
	} else {
		f := s.f // stays open until release, after the reader is done
		s.mu.Unlock()
		var err error
		if n, err = f.ReadAt(p[:n], r.off); err != nil && err != io.EOF {
			r.off += int64(n)
			return n, fmt.Errorf("read spooled layer: %w", err)
		}
	}
	r.off += int64(n)
	return n, nil
}

// readAll says whether a reader was handed EOF: storage read the whole
// checked layer.
func (s *spool) readAll() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gotEOF
}

// release frees the spool once neither side uses it any more.
func (s *spool) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
	s.buf = nil
}
