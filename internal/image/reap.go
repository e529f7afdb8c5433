package image

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containers/storage"

	"github.com/crio-runtime/crio/internal/fault"
)

// RemoveImage answers once the image is gone from what List, Status,
// ForContainer and Pull see; the storage deletion (image record, then the
// layers' files: hundreds of unlinks for a busybox, ~13 ms of an 18 ms
// remove) finishes in the background, like containerd's garbage
// collection. While it runs:
//   - the image is hidden from every lookup of this service (pending);
//   - a pull waits (waitReaps) until the deletion's locked part is done
//     (image and layer records gone, layer dirs moved aside) before
//     touching the store, so it never reuses layers about to be deleted;
//     the unlinking of the moved dirs may go on beside the pull;
//   - a marker file names it, so a daemon killed mid-reap deletes it at the
//     next start (sweepReaps) before serving;
//   - Shutdown and FsInfo wait for it.
// Other tools (podman) see the image until the deletion's first, locked
// step is done, a few milliseconds.

// reapHook, when set (tests), runs at the start of every background reap.
var reapHook func(id string)

// imageReaps tracks image deletions finishing in the background.
type imageReaps struct {
	mu      sync.Mutex
	pending map[string]*imageReap // by image ID
	wg      sync.WaitGroup
	dir     string // one marker file per pending deletion
}

type imageReap struct {
	started chan struct{} // closed right before the storage deletion
	done    chan struct{} // closed when it returned
}

func (r *imageReaps) init(dir string) error {
	r.pending = map[string]*imageReap{}
	r.dir = dir
	return os.MkdirAll(dir, 0o700)
}

// hidden reports whether id is being deleted.
func (r *imageReaps) hidden(id string) bool {
	r.mu.Lock()
	_, ok := r.pending[id]
	r.mu.Unlock()
	return ok
}

// waitReaps blocks until no image deletion in flight still holds records
// a pull could reuse. Every path that may reuse stored layers (pulls)
// calls it before touching the store.
//
// containers/storage's DeleteImage drops the image and layer records and
// moves the layer dirs aside under its locks, then unlinks the moved dirs
// (most of its time) after releasing them. Once a reap has started, a
// store read blocks while those locks are held; it reporting the image
// unknown means the locked part is over.
func (s *Service) waitReaps() {
	for id, rp := range s.pendingReaps() {
		<-rp.started
		for {
			if _, err := s.store.Image(id); errors.Is(err, storage.ErrImageUnknown) {
				break
			}
			// Not locked yet (or kept: in use): look again shortly.
			select {
			case <-rp.done:
			case <-time.After(time.Millisecond):
				continue
			}
			break
		}
	}
}

// waitReapsDone blocks until the image deletions in flight have returned.
func (s *Service) waitReapsDone() {
	for _, rp := range s.pendingReaps() {
		<-rp.done
	}
}

func (s *Service) pendingReaps() map[string]*imageReap {
	s.reaps.mu.Lock()
	defer s.reaps.mu.Unlock()
	return maps.Clone(s.reaps.pending)
}

// reapLater hides image id and deletes it from the store in the
// background. It fails only when the crash marker cannot be written (the
// caller then deletes synchronously).
func (s *Service) reapLater(ctx context.Context, id string) error {
	marker := filepath.Join(s.reaps.dir, id)
	// No fsync: losing the marker in a power cut only brings the image back.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return err
	}
	rp := &imageReap{started: make(chan struct{}), done: make(chan struct{})}
	s.reaps.mu.Lock()
	if _, ok := s.reaps.pending[id]; ok { // a concurrent remove won
		s.reaps.mu.Unlock()
		return nil
	}
	s.reaps.pending[id] = rp
	s.reaps.wg.Add(1)
	s.reaps.mu.Unlock()
	s.dropInfo(id)                   // and hides it from cached answers
	ctx = context.WithoutCancel(ctx) // for log values only: the answer ends the request
	log := s.log
	go func() {
		defer s.reaps.wg.Done()
		fault.Point("image-reap")
		if reapHook != nil {
			reapHook(id)
		}
		close(rp.started)
		err := s.deleteImage(id)
		if err != nil && errors.Is(err, storage.ErrImageUsedByContainer) {
			// A container was created from it between the check and the
			// deletion (storage orders the two): the image stays, visible.
			log.WarnContext(ctx, "removed image is in use by a new container; kept", "id", id)
		} else if err != nil {
			log.ErrorContext(ctx, "delete removed image", "id", id, "err", err)
		}
		if err := os.Remove(marker); err != nil && !os.IsNotExist(err) {
			log.WarnContext(ctx, "remove image reap marker", "id", id, "err", err)
		}
		s.reaps.mu.Lock()
		delete(s.reaps.pending, id)
		s.reaps.mu.Unlock()
		s.views.bump() // a kept image shows again
		close(rp.done)
	}()
	return nil
}

// deleteImage deletes image id and the layers only it used; an image
// already gone is no error.
func (s *Service) deleteImage(id string) error {
	_, err := s.store.DeleteImage(id, true)
	if errors.Is(err, storage.ErrImageUnknown) || errors.Is(err, storage.ErrNotAnImage) || errors.Is(err, storage.ErrLayerUnknown) {
		return nil
	}
	return err
}

// sweepReaps finishes the deletions a previous daemon did not (killed
// mid-reap). Called by New before the service is used.
func (s *Service) sweepReaps() {
	entries, err := os.ReadDir(s.reaps.dir)
	if err != nil {
		s.log.Warn("read image reap markers", "dir", s.reaps.dir, "err", err)
		return
	}
	for _, e := range entries {
		id := e.Name()
		if !idPattern.MatchString(id) {
			continue
		}
		if err := s.deleteImage(id); err != nil {
			s.log.Warn("finish removal of image", "id", id, "err", err)
		} else {
			s.log.Info("finished removal of image interrupted by a restart", "id", id)
		}
		_ = os.Remove(filepath.Join(s.reaps.dir, id))
	}
}
