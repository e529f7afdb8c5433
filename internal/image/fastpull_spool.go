package image

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// markBatch is how many newly checked bytes wake a waiting reader.
const markBatch = 64 << 10

// spool hands one layer's uncompressed tar from its download (the writer,
// fetch) to its apply (the reader, storage's PutLayer), which may run at
// the same time: the untar of a layer overlaps its own gunzip instead of
// waiting for it. The reader only ever sees what the download vouched
// for:
//   - bytes up to the end of the last tar header the safety scan checked
//     (mark), so the untar never parses a header the scan has not passed;
//   - the rest, and EOF, only once the whole layer checked out (finish
//     with nil: digests, sizes, scan);
//   - the download's error instead, when it failed, so storage fails the
//     apply and discards the layer it was writing.
//
// It keeps the bytes in memory up to memSpoolMax, then all of them in an
// unlinked file under dir (one reader, from the start).
type spool struct {
	dir     string
	mu      sync.Mutex
	more    sync.Cond // visible grew or done was set
	buf     []byte
	f       *os.File
	size    int64 // bytes written
	visible int64 // bytes the reader may read
	woken   int64 // visible when the reader was last woken
	done    bool
	err     error // the download's verdict, once done
	werr    error // a failed write to the spool itself
	gotEOF  bool  // the reader was handed EOF (the layer checked out)
	gotErr  bool  // the reader was handed err
}

func newSpool(dir string, blobSize int64) *spool {
	s := &spool{dir: dir, buf: make([]byte, 0, min(max(2*blobSize, 0), memSpoolMax))}
	s.more.L = &s.mu
	return s
}

// Write appends to the spool, invisible to the reader until mark or finish.
func (s *spool) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.werr != nil {
		return 0, s.werr
	}
	if s.f == nil && int64(len(s.buf)+len(b)) > memSpoolMax {
		if s.werr = s.toFile(); s.werr != nil {
			return 0, s.werr
		}
	}
	n := len(b)
	if s.f == nil {
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

// mark makes everything written so far visible: the scan checked the
// header that ends here. The reader is woken once per markBatch bytes, not
// per header (a busybox layer has 400 entries of a few hundred bytes).
func (s *spool) mark() {
	s.mu.Lock()
	s.visible = s.size
	wake := s.visible-s.woken >= markBatch
	if wake {
		s.woken = s.visible
	}
	s.mu.Unlock()
	if wake {
		s.more.Broadcast()
	}
}

// finish ends the download with its verdict: nil shows the reader the
// rest and EOF, an error fails the reader with it.
func (s *spool) finish(err error) {
	s.mu.Lock()
	if !s.done {
		s.done, s.err = true, err
		if err == nil {
			s.visible = s.size
		}
	}
	s.mu.Unlock()
	s.more.Broadcast()
}

// reader reads the spool from its start, blocking for bytes not visible yet.
func (s *spool) reader() io.Reader { return &spoolReader{s: s} }

type spoolReader struct {
	s   *spool
	off int64
}

func (r *spoolReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	for r.off >= s.visible && !s.done {
		s.more.Wait()
	}
	switch {
	case s.done && s.err != nil:
		s.gotErr = true
		s.mu.Unlock()
		return 0, s.err
	case r.off >= s.visible:
		s.gotEOF = true
		s.mu.Unlock()
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.visible-r.off))
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

// outcome says whether the reader was handed EOF (the whole checked
// layer) and whether it was handed the download's error.
func (s *spool) outcome() (gotEOF, gotErr bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gotEOF, s.gotErr
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
