package container

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/containers/storage"
	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/internal/stats"
)

// spareMark is the storage metadata of a layer made ahead of its container
// (JSON, as tools reading CRI-O's storage expect). Restart deletes marked
// layers that no container record claims.
const spareMark = `{"crio-spare-layer":true}`

// A spare is made only with more than spareMinFree bytes and
// spareMinInodes inodes free on the storage disk: on a nearly full disk,
// work done ahead only takes what creates need, and a layer caught
// half-made by the disk filling up stays flagged incomplete in storage,
// failing every later load of it until space is freed.
const (
	spareMinFree   = 64 << 20
	spareMinInodes = 4096
)

// lowOnSpace says whether the file system holding dir has too little room
// for a spare (false when it cannot tell).
func lowOnSpace(dir string) bool {
	fs, err := stats.Filesystem(dir)
	if err != nil {
		return false
	}
	return fs.Available < spareMinFree || (fs.Inodes > 0 && fs.InodesFree < spareMinInodes)
}

// maxSpares bounds how many images keep a spare layer (the most recently
// started ones). A spare is a few empty directories and one overlay mount.
const maxSpares = 4

// spares keeps one writable layer ready (created and mounted) for each
// image started more than once lately (replicas, sidecars, restarts).
// Making a layer is a dozen metadata writes on the storage disk; the next
// container of such an image takes the ready one and another is made in
// the background, off the critical path of CreateContainer. The spare's id
// becomes the container's id.
type spares struct {
	store func() storage.Store
	log   *slog.Logger

	mu     sync.Mutex
	ready  map[string]spare           // image ID -> layer
	busy   map[string]chan struct{}   // image ID -> fill in flight
	gone   map[string][]chan struct{} // image ID -> deletions in flight
	recent []string                   // image IDs, most recent last
	closed bool

	bg sync.WaitGroup // deletions in the background; close waits for them
}

type spare struct{ id, rootfs string }

func newSpares(store func() storage.Store, log *slog.Logger) *spares {
	return &spares{store: store, log: log, ready: map[string]spare{}, busy: map[string]chan struct{}{},
		gone: map[string][]chan struct{}{}}
}

// take returns the image's spare layer, if one is ready.
func (p *spares) take(imageID string) (spare, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.ready[imageID]
	if ok {
		delete(p.ready, imageID)
	}
	return s, ok
}

// refill notes that a container of the image started and, if one did
// before, makes the image's next spare in the background; images beyond
// the most recent maxSpares lose theirs.
func (p *spares) refill(imageID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	again := slices.Contains(p.recent, imageID)
	p.recent = append(slices.DeleteFunc(p.recent, func(s string) bool { return s == imageID }), imageID)
	for len(p.recent) > maxSpares {
		if s, ok := p.ready[p.recent[0]]; ok {
			delete(p.ready, p.recent[0])
			p.dropLater(p.recent[0], s.id)
		}
		p.recent = p.recent[1:]
	}
	if _, ok := p.ready[imageID]; ok || p.busy[imageID] != nil || !again {
		return
	}
	done := make(chan struct{})
	p.busy[imageID] = done
	go p.fill(imageID, done)
}

// giveBack returns a spare taken by a create that failed before using it.
func (p *spares) giveBack(imageID string, s spare) {
	p.mu.Lock()
	_, full := p.ready[imageID]
	keep := !full && !p.closed && slices.Contains(p.recent, imageID)
	if keep {
		p.ready[imageID] = s
	}
	p.mu.Unlock()
	if !keep {
		_ = dropLayer(p.store(), s.id)
	}
}

// dropLater deletes an image's layer in the background. Callers hold p.mu
// and have seen p.closed false, so close waits for it; so does drop, as
// the layer holds the image.
func (p *spares) dropLater(imageID, id string) {
	p.bg.Add(1)
	done := make(chan struct{})
	p.gone[imageID] = append(p.gone[imageID], done)
	go func() {
		defer p.bg.Done()
		_ = dropLayer(p.store(), id)
		p.mu.Lock()
		p.gone[imageID] = slices.DeleteFunc(p.gone[imageID], func(c chan struct{}) bool { return c == done })
		if len(p.gone[imageID]) == 0 {
			delete(p.gone, imageID)
		}
		p.mu.Unlock()
		close(done)
	}()
}

// fill makes a spare; done closes once it is kept or deleted.
func (p *spares) fill(imageID string, done chan struct{}) {
	defer func() {
		p.mu.Lock()
		delete(p.busy, imageID)
		p.mu.Unlock()
		close(done)
	}()
	if root := p.store().GraphRoot(); lowOnSpace(root) {
		p.log.Debug("no spare layer: the storage disk is low on space", "image", imageID, "root", root)
		return
	}
	id := state.NewID()
	rootfs, err := makeLayer(p.store(), id, imageID, spareMark, nil)
	if err != nil {
		p.log.Debug("spare layer", "image", imageID, "error", err)
		return
	}
	prepareTargets(rootfs)
	p.mu.Lock()
	// The image may have been dropped or pushed out meanwhile.
	keep := !p.closed && slices.Contains(p.recent, imageID)
	if keep {
		p.ready[imageID] = spare{id, rootfs}
	}
	p.mu.Unlock()
	if !keep {
		_ = dropLayer(p.store(), id)
		return
	}
	// Only from here on does a create take it (tests wait for this line).
	p.log.Debug("spare layer ready", "id", id, "image", imageID)
}

// drop deletes the image's spare (waiting for one being made), so the image
// can be removed.
func (p *spares) drop(imageID string) {
	p.mu.Lock()
	p.recent = slices.DeleteFunc(p.recent, func(s string) bool { return s == imageID })
	done := p.busy[imageID]
	gone := slices.Clone(p.gone[imageID])
	p.mu.Unlock()
	if done != nil {
		<-done // fill sees the image gone from recent and deletes its layer
	}
	for _, c := range gone {
		<-c
	}
	if s, ok := p.take(imageID); ok {
		_ = dropLayer(p.store(), s.id)
	}
}

// close deletes all spares and makes no more.
func (p *spares) close() {
	p.mu.Lock()
	p.closed = true
	p.recent = nil
	ready := p.ready
	p.ready = map[string]spare{}
	var busy []chan struct{}
	for _, d := range p.busy {
		busy = append(busy, d)
	}
	p.mu.Unlock()
	for _, d := range busy {
		<-d
	}
	for _, s := range ready {
		_ = dropLayer(p.store(), s.id)
	}
	p.bg.Wait()
}

// sweep deletes spare layers left by an earlier run (a crash) that no
// container claims.
func (p *spares) sweep(claimed func(id string) bool) {
	st := p.store()
	cs, err := st.Containers()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.Metadata == spareMark && !claimed(c.ID) {
			p.log.Debug("deleting stale spare layer", "id", c.ID)
			_ = dropLayer(st, c.ID)
		}
	}
}

// makeLayer creates and mounts the writable layer of storage container id.
func makeLayer(st storage.Store, id, imageID, metadata string, opts *storage.ContainerOptions) (string, error) {
	if _, err := st.CreateContainer(id, nil, imageID, "", metadata, opts); err != nil {
		return "", err
	}
	mp, err := st.Mount(id, "")
	if err != nil {
		_ = st.DeleteContainer(id)
		return "", err
	}
	return realPath(mp), nil
}

// realPath resolves symlinks in a rootfs path: runc refuses a rootfs
// reached through one (a graph root on a symlinked disk, or under
// /var/run -> /run), as podman and dockerd found.
func realPath(p string) string {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

// prepareTargets creates the files every container bind-mounts over (the
// pod's hosts, resolv.conf and hostname) where the image lacks them, as the
// runtime would: the copy-up of /etc then happens here, not in the
// runtime's create. Paths are resolved inside rootfs.
func prepareTargets(rootfs string) {
	for _, name := range []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"} {
		p, err := securejoin.SecureJoin(rootfs, name)
		if err != nil {
			continue
		}
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			continue
		}
		if st, err := os.Lstat(filepath.Dir(p)); err != nil || !st.IsDir() {
			continue
		}
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o644); err == nil {
			f.Close()
		}
	}
}
