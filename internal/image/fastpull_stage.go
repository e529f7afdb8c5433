package image

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/containers/storage"
	drivers "github.com/containers/storage/drivers"
	"github.com/containers/storage/pkg/archive"
	digest "github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/tar/asm"
	tarsplit "github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/untar"
)

// A staged layer is unpacked while it downloads, into a staging directory
// of the overlay driver (storage's PrepareStagedLayer), without any of
// storage's locks held; once the download checked out and the parent is
// stored, ApplyStagedLayer commits it under the layer store's lock: a
// rename and the layer's records. A pull over a slow link thus unpacks as
// the bytes come (the spool path unpacks only after the last byte, holding
// the lock for the whole unpack), and a stalled download blocks nobody.
// Drivers without staging (vfs) keep the spool.

// stagedCommits counts layers stored from a staging directory (tests).
var stagedCommits atomic.Int64

// errStageEnded: the unpack stopped reading (it failed or finished).
var errStageEnded = errors.New("layer unpack ended")

// canStage says whether the store's driver unpacks into staging
// directories.
func canStage(store storage.Store) bool {
	d, err := store.GraphDriver()
	if err != nil {
		return false
	}
	_, ok := d.(drivers.DriverWithDiffer)
	return ok
}

// stage is one layer being unpacked into a staging directory from what its
// download writes to w.
type stage struct {
	store storage.Store
	w     *io.PipeWriter
	done  chan struct{} // PrepareStagedLayer returned
	out   *drivers.DriverWithDifferOutput
	err   error
}

// startStage starts the unpack, which reads what is written to the
// stage's writer. It fails, with nothing read, when the driver cannot
// stage this layer (composefs, say): the caller spools it instead.
func startStage(store storage.Store, tmp string) (*stage, error) {
	pr, pw := io.Pipe()
	st := &stage{store: store, w: pw, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(st.done)
		st.out, st.err = store.PrepareStagedLayer(nil, &streamDiffer{r: pr, tmp: tmp, ready: ready})
		stopped := errStageEnded
		if st.err != nil {
			stopped = fmt.Errorf("unpack layer: %w", st.err)
		}
		_ = pr.CloseWithError(stopped) // a download still writing stops
	}()
	select {
	case <-ready:
		return st, nil
	case <-st.done:
		st.drop()
		return nil, st.err
	}
}

// finish ends the download with its verdict (nil: the layer checked out,
// the unpack sees its end; otherwise the unpack fails) and waits for the
// unpack. It returns the first error of the two.
func (st *stage) finish(fetchErr error) error {
	_ = st.w.CloseWithError(fetchErr)
	<-st.done
	switch {
	case fetchErr != nil:
		return fetchErr
	case st.err != nil:
		return fmt.Errorf("unpack layer: %w", st.err)
	}
	return nil
}

// commit stores the staged layer as layer id on parent, with the verified
// digests and sizes and the owners the scan saw, as PutLayer would record
// them (save the compressed size, which storage's staged path does not
// record, as for containers/image's own staged pulls).
func (st *stage) commit(id, parent string, blob, diffID digest.Digest, size int64, lf *layerFacts) error {
	out := st.out
	if out == nil || out.Target == "" {
		return errors.New("no staged layer to commit")
	}
	out.CompressedDigest, out.UncompressedDigest = blob, diffID
	out.Size = size
	out.UIDs, out.GIDs = lf.owners()
	dir := filepath.Dir(out.Target)
	// The layer's root directory takes its parent's mode from the driver,
	// as with an ordinary apply (whose unpack ignores a tar entry for "/").
	_, err := st.store.ApplyStagedLayer(storage.ApplyStagedLayerOptions{
		ID: id, ParentLayer: parent, DiffOutput: out, DiffOptions: &drivers.ApplyDiffWithDifferOpts{},
	})
	if err != nil {
		return err
	}
	stagedCommits.Add(1)
	st.out = nil       // storage owns it now
	_ = os.Remove(dir) // the emptied staging dir; storage leaves it until its shutdown
	return nil
}

// drop removes whatever the stage left that storage does not own.
func (st *stage) drop() {
	if st == nil || st.out == nil {
		return
	}
	if st.out.Target != "" {
		_ = st.store.CleanupStagedLayer(st.out)
	} else if st.out.TarSplit != nil {
		_ = st.out.TarSplit.Close()
	}
	st.out = nil
}

// streamDiffer unpacks an uncompressed layer stream into the staging
// directory storage hands it, recording the layer's tar-split as storage
// does for an ordinary apply (store.Diff rebuilds the exact tar from it).
type streamDiffer struct {
	r     *io.PipeReader
	tmp   string
	ready chan<- struct{}
}

func (d *streamDiffer) ApplyDiff(dest string, opts *archive.TarOptions, dopts *drivers.DifferOptions) (drivers.DriverWithDifferOutput, error) {
	var out drivers.DriverWithDifferOutput
	if dopts != nil && dopts.Format != drivers.DifferOutputFormatDir {
		return out, errors.New("the driver stages layers in a format of its own")
	}
	ts, err := os.CreateTemp(d.tmp, "tar-split-")
	if err != nil {
		return out, err
	}
	_ = os.Remove(ts.Name()) // gone with the descriptor, even after a crash
	close(d.ready)
	bw := bufio.NewWriterSize(ts, 64<<10)
	stream, err := asm.NewInputTarStream(d.r, tarsplit.NewJSONPacker(bw), tarsplit.NewDiscardFilePutter())
	if err == nil {
		err = untar.UntarUncompressed(stream, dest, opts)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		_ = ts.Close()
		return out, err
	}
	out.TarSplit = ts
	return out, nil
}

func (d *streamDiffer) Close() error { return nil }

// prunedRoots are the stores whose staging directories this process swept.
var prunedRoots sync.Map

// pruneStaging removes the overlay driver's staging directories no process
// holds: what a crash during a pull left. Storage removes them only at a
// shutdown with no layer mounted, which a node with running containers
// never has. It runs once per store and process, before any pull: a lock
// this process held would not show (POSIX record locks are per process).
func pruneStaging(store storage.Store) {
	if store.GraphDriverName() != "overlay" {
		return
	}
	home := filepath.Join(store.GraphRoot(), "overlay")
	if is := store.ImageStore(); is != "" {
		home = filepath.Join(is, "overlay")
	}
	if _, done := prunedRoots.LoadOrStore(home, true); done {
		return
	}
	base := filepath.Join(home, "staging")
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		if e.IsDir() && !stagingHeld(filepath.Join(dir, "staging.lock")) {
			_ = os.RemoveAll(dir)
		}
	}
}

// stagingHeld says whether another process holds a staging directory's
// lock (storage takes a POSIX write lock on it while it stages).
func stagingHeld(lock string) bool {
	f, err := os.OpenFile(lock, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false // no lock file: nobody stages there
	}
	if err != nil {
		return true // cannot tell: keep it
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return true
	}
	return lk.Type != unix.F_UNLCK
}
