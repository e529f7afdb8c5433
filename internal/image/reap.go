package image

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containers/storage"

	"github.com/crio-runtime/crio/internal/fault"
)

// RemoveImage answers once the image is gone from what List, Status,
// ForContainer and Pull see; the storage deletion (image record, then the
// layers' files: hundreds of unlinks for a busybox, ~13 ms of an 18 ms
// remove) finishes in the background, like containerd's garbage
// collection, after reapDelay. While it waits and runs:
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

// reapDelay is how long a deletion waits before it starts unless something
// waits for it (a pull, FsInfo, Shutdown): removals tend to come in bursts
// (a kubelet's image GC, a test's cleanup) right before other requests,
// and their unlinking then takes the CPUs from those. The image is hidden
// from the moment RemoveImage answers either way.
var reapDelay = time.Second

// imageReaps tracks image deletions finishing in the background.
type imageReaps struct {
	mu sync.Mutex
	// hiding holds, per image ID, the reap whose image is still stored
	// (hidden from lookups, named by a marker file); settle takes it out.
	hiding map[string]*imageReap
	// inflight holds every reap until it returned (FsInfo waits for them).
	inflight map[*imageReap]string
	wg       sync.WaitGroup
	dir      string // one marker file per hidden image
	// deletions counts reaps that went on to delete (a pull compares it
	// before and after to know whether one ran beside it).
	deletions atomic.Uint64
}

type imageReap struct {
	hurry   chan struct{} // closed to end the delay (now)
	once    sync.Once
	started chan struct{} // closed right before the storage deletion (or its call-off)
	done    chan struct{} // closed when it returned
	// Under imageReaps.mu: deleting once the reap is past its delay and
	// deletes; canceled when a pull of the same image called it off first.
	deleting, canceled bool
	names              []string // the image's names when it was removed
	// held counts pulls of one of names in flight: the reap waits for them
	// (unheld is closed when the last one ends), so a pull that finds the
	// same image in the registry reuses it instead of downloading it again.
	held   int
	unheld chan struct{}
}

// holdReaps holds the reaps not yet deleting whose image was named name,
// for a pull of name; releaseReaps ends the hold.
func (s *Service) holdReaps(name string) []*imageReap {
	s.reaps.mu.Lock()
	defer s.reaps.mu.Unlock()
	var held []*imageReap
	for _, rp := range s.reaps.hiding {
		if rp.deleting || rp.canceled || !slices.Contains(rp.names, name) {
			continue
		}
		if rp.held == 0 {
			rp.unheld = make(chan struct{})
		}
		rp.held++
		held = append(held, rp)
	}
	return held
}

func (s *Service) releaseReaps(held []*imageReap) {
	s.reaps.mu.Lock()
	defer s.reaps.mu.Unlock()
	for _, rp := range held {
		if rp.held--; rp.held == 0 {
			close(rp.unheld)
		}
	}
}

// waitHeld blocks while pulls hold rp, and then holds imageReaps.mu.
func (s *Service) waitHeld(rp *imageReap) {
	for {
		s.reaps.mu.Lock()
		if rp.held == 0 {
			return
		}
		unheld := rp.unheld
		s.reaps.mu.Unlock()
		<-unheld
	}
}

// now makes rp start at once if it still waits out its delay.
func (rp *imageReap) now() { rp.once.Do(func() { close(rp.hurry) }) }

func (r *imageReaps) init(dir string) error {
	r.hiding = map[string]*imageReap{}
	r.inflight = map[*imageReap]string{}
	r.dir = dir
	return os.MkdirAll(dir, 0o700)
}

// hidden reports whether id is removed but still stored.
func (r *imageReaps) hidden(id string) bool {
	r.mu.Lock()
	_, ok := r.hiding[id]
	r.mu.Unlock()
	return ok
}

// settle ends rp's hiding of image id once its record is deleted (or kept,
// in use): the marker goes first, so a restart never deletes an image
// stored again after this.
func (s *Service) settle(id string, rp *imageReap) {
	s.reaps.mu.Lock()
	if s.reaps.hiding[id] != rp {
		s.reaps.mu.Unlock()
		return // settled already
	}
	err := os.Remove(filepath.Join(s.reaps.dir, id))
	delete(s.reaps.hiding, id)
	s.reaps.mu.Unlock()
	if err != nil && !os.IsNotExist(err) {
		s.log.Warn("remove image reap marker", "id", id, "err", err)
	}
	s.views.bump()
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
	s.reaps.mu.Lock()
	hiding := maps.Clone(s.reaps.hiding)
	s.reaps.mu.Unlock()
	for id, rp := range hiding {
		s.reaps.mu.Lock()
		held := rp.held > 0
		s.reaps.mu.Unlock()
		if held {
			// It deletes nothing until its pulls end; a pull beside that
			// deletion reusing its layers pulls again (pullKept).
			continue
		}
		rp.now()
		<-rp.started
		for {
			if _, err := s.store.Image(id); errors.Is(err, storage.ErrImageUnknown) {
				s.settle(id, rp)
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

// errReaped: a removal's deletion took the image a pull had just stored.
var errReaped = errors.New("a removal of the image deleted it while it was pulled")

// keep makes image id, which a pull just stored, stay: a removal of id
// still waiting out its delay is called off (the pull is the newer
// request, as it is when it comes after the deletion). A removal already
// deleting is waited for, and errReaped says it took the image.
//
// The names the removal took, other than name (the pull's), stay gone.
func (s *Service) keep(id, name string) error {
	s.reaps.mu.Lock()
	rp := s.reaps.hiding[id]
	if rp == nil {
		s.reaps.mu.Unlock()
		return nil
	}
	if !rp.deleting {
		rp.canceled = true // the reap, when it wakes, deletes nothing
		others := slices.DeleteFunc(slices.Clone(rp.names), func(n string) bool { return n == name })
		s.reaps.mu.Unlock()
		var err error
		if len(others) > 0 {
			err = s.store.RemoveNames(id, others)
		}
		s.settle(id, rp)
		s.warm(id) // settle dropped the answers; the pull found it hidden and did not warm it
		return err
	}
	s.reaps.mu.Unlock()
	<-rp.done
	if _, err := s.store.Image(id); err != nil {
		return errReaped
	}
	return nil
}

// waitReapsDone blocks until the image deletions in flight have returned,
// save those a pull holds (they wait for it, as long as a download lasts:
// ImageFsInfo must not). Shutdown waits for those too, after the pulls.
func (s *Service) waitReapsDone() {
	s.reaps.mu.Lock()
	var dones []chan struct{}
	for rp := range s.reaps.inflight {
		if rp.held > 0 {
			continue
		}
		rp.now()
		dones = append(dones, rp.done)
	}
	s.reaps.mu.Unlock()
	for _, d := range dones {
		<-d
	}
}

// reapLater hides image id and deletes it from the store in the
// background. It fails only when the crash marker cannot be written (the
// caller then deletes synchronously).
func (s *Service) reapLater(ctx context.Context, id string, names []string) error {
	rp := &imageReap{hurry: make(chan struct{}), started: make(chan struct{}), done: make(chan struct{}), names: names}
	s.reaps.mu.Lock()
	if _, ok := s.reaps.hiding[id]; ok { // a concurrent remove won
		s.reaps.mu.Unlock()
		return nil
	}
	// No fsync: losing the marker in a power cut only brings the image back.
	if err := os.WriteFile(filepath.Join(s.reaps.dir, id), nil, 0o600); err != nil {
		s.reaps.mu.Unlock()
		return err
	}
	s.reaps.hiding[id] = rp
	s.reaps.inflight[rp] = id
	s.reaps.wg.Add(1)
	s.reaps.mu.Unlock()
	s.dropInfo(id)                   // and hides it from cached answers
	ctx = context.WithoutCancel(ctx) // for log values only: the answer ends the request
	log := s.log
	go func() {
		defer s.reaps.wg.Done()
		delay := time.NewTimer(reapDelay)
		select {
		case <-delay.C:
		case <-rp.hurry:
		}
		delay.Stop()
		fault.Point("image-reap")
		if reapHook != nil {
			reapHook(id)
		}
		s.waitHeld(rp)
		canceled := rp.canceled
		if !canceled {
			rp.deleting = true
			s.reaps.deletions.Add(1)
		}
		s.reaps.mu.Unlock()
		close(rp.started)
		if !canceled {
			err := s.deleteImage(id)
			if err != nil && errors.Is(err, storage.ErrImageUsedByContainer) {
				// A container was created from it between the check and the
				// deletion (storage orders the two): the image stays, visible.
				log.WarnContext(ctx, "removed image is in use by a new container; kept", "id", id)
			} else if err != nil {
				log.ErrorContext(ctx, "delete removed image", "id", id, "err", err)
			}
			s.settle(id, rp)
		}
		s.reaps.mu.Lock()
		delete(s.reaps.inflight, rp)
		s.reaps.mu.Unlock()
		close(rp.done)
	}()
	return nil
}

// deleteImage deletes image id and the layers only it used; an image
// already gone is no error.
func (s *Service) deleteImage(id string) error {
	released, err := s.reserve.around(func() error {
		_, err := s.store.DeleteImage(id, true)
		return err
	})
	if released {
		s.log.Warn("storage disk full: released the space reserve to delete an image", "id", id, "err", err)
	}
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
