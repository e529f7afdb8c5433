package image

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/containers/image/v5/manifest"
	"github.com/containers/image/v5/pkg/blobinfocache/none"
	"github.com/containers/image/v5/types"
	"github.com/containers/storage"
	"github.com/containers/storage/pkg/archive"
	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"
)

const (
	// fastParallel bounds concurrent layer downloads (copy.Image uses 6;
	// fewer here because each download also decompresses).
	fastParallel = 3
	// fastHeld bounds the layers spooled at once (downloading, or waiting
	// for their apply): downloads that outpace the applies must not keep
	// a whole image in memory.
	fastHeld = fastParallel + 1
	// memSpoolMax: smaller uncompressed layers are spooled in memory,
	// larger ones to an unlinked file under the store's temp dir.
	memSpoolMax = 16 << 20
	// stageBuffer is how much of a layer passes to its unpack at a time.
	stageBuffer = 256 << 10
)

// applyHook, when set, runs before each apply (tests slow the applies).
var applyHook func()

type fastPuller struct {
	s      *Service
	src    types.ImageSource
	img    *fastImage
	facts  *pullFacts
	events *progressSink
}

// layersInto makes sure every layer of the image is in the store and
// returns the top layer's ID. Missing layers download in parallel, in
// layer order (fastParallel at a time, fastHeld ahead of the applies),
// each checked as it streams and unpacked into a staging directory (or
// spooled, for drivers that cannot stage). Layers are stored in order,
// each once its parent is stored and its own download checked out, while
// the next layers keep downloading.
func (p *fastPuller) layersInto(ctx context.Context) (string, error) {
	ids := chainIDs(p.img.diffIDs)
	ctx, cancel := context.WithCancel(ctx)
	results := make([]chan fetched, len(ids))
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		for _, ch := range results { // what no apply took
			if ch != nil {
				select {
				case f := <-ch:
					f.drop()
				default:
				}
			}
		}
	}()
	var missing []int
	for i, id := range ids {
		if l, err := p.s.store.Layer(id); err == nil && l != nil {
			p.events.skipped(p.img.layers[i])
			continue
		}
		results[i] = make(chan fetched, 1)
		missing = append(missing, i)
	}
	held := make(chan struct{}, fastHeld) // a slot per layer until it is stored
	wg.Add(1)
	go func() { // starts the downloads in layer order, the base layer first
		defer wg.Done()
		sem := make(chan struct{}, fastParallel)
		for _, i := range missing {
			if err := acquire(ctx, held, sem); err != nil {
				results[i] <- fetched{err: err, drop: func() {}}
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := p.download(ctx, i)
				<-sem
				results[i] <- f
			}()
		}
	}()
	parent := ""
	for i, id := range ids {
		if results[i] != nil {
			f := <-results[i]
			err := f.err
			if err == nil {
				if applyHook != nil {
					applyHook()
				}
				err = f.apply(id, parent)
			}
			f.drop()
			if err != nil {
				return "", err // the deferred cancel stops the downloads
			}
			<-held
		}
		parent = id
	}
	return parent, nil
}

// fetched is a layer's download, checked (err nil) or not.
type fetched struct {
	err   error
	apply func(id, parent string) error // stores the layer as id on parent
	drop  func()                        // frees what the download left
}

// acquire takes a slot of each semaphore in turn, or returns ctx's error.
func acquire(ctx context.Context, sems ...chan struct{}) error {
	for _, sem := range sems {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// download fetches layer i into a staging directory when the driver can
// stage, else into a spool.
func (p *fastPuller) download(ctx context.Context, i int) fetched {
	info := p.img.layers[i]
	if p.s.staging {
		if st, err := startStage(p.s.store, p.s.tmp); err == nil {
			// Buffered: the scan hands on pieces as small as a tar header,
			// and each write to the pipe waits for the unpack to take it.
			bw := bufio.NewWriterSize(st.w, stageBuffer)
			lf, size, err := p.fetch(ctx, i, bw)
			if err == nil {
				if err = bw.Flush(); err != nil {
					err = fmt.Errorf("storing blob %s: %w", info.Digest, err)
				}
			}
			err = st.finish(err)
			return fetched{err: err, drop: st.drop, apply: func(id, parent string) error {
				return p.commitStaged(id, parent, i, st, lf, size)
			}}
		}
	}
	sp := newSpool(p.s.tmp, info.Size)
	_, _, err := p.fetch(ctx, i, sp)
	sp.finish(err)
	return fetched{err: err, drop: sp.release, apply: func(id, parent string) error { return p.apply(id, parent, i, sp) }}
}

// commitStaged stores layer i from its staging directory, unless another
// pull stored it meanwhile (it checked it; the drop removes our copy).
func (p *fastPuller) commitStaged(id, parent string, i int, st *stage, lf *layerFacts, size int64) error {
	p.s.stageMu.Lock() // our check and commit are one step
	defer p.s.stageMu.Unlock()
	if l, err := p.s.store.Layer(id); err == nil && l != nil {
		return nil
	}
	info := p.img.layers[i]
	if err := st.commit(id, parent, info.Digest, p.img.diffIDs[i], size, lf); err != nil {
		return fmt.Errorf("adding layer with blob %s: %w", info.Digest, err)
	}
	return nil
}

// apply stores a checked layer as the storage destination does: same ID,
// parent, and (verified) digests and blob size. It hands storage the
// uncompressed tar, so nothing is decompressed twice; the layer record
// then says "compression": none, which only store.Diff without an
// explicit compression reads (containers/image always asks for none).
// Storage holds its layer store's lock for a whole PutLayer, so the apply
// starts only once the download checked out: reading the layer as it
// downloaded would block every container create, layer lookup and
// ImageFsInfo for as long as a slow or stalled download lasts.
func (p *fastPuller) apply(id, parent string, i int, sp *spool) error {
	size := p.img.layers[i].Size
	opts := &storage.LayerOptions{
		OriginalDigest: p.img.layers[i].Digest, OriginalSize: &size, UncompressedDigest: p.img.diffIDs[i],
	}
	_, _, err := p.s.store.PutLayer(id, parent, nil, "", false, opts, sp.reader())
	if errors.Is(err, storage.ErrDuplicateID) {
		return nil // stored meanwhile by another pull, which checked it
	}
	if err != nil {
		return fmt.Errorf("adding layer with blob %s: %w", p.img.layers[i].Digest, err)
	}
	// Storage reads a layer to its end; should it ever stop before, what
	// it stored is not the layer the digests vouched for: take it out.
	if !sp.readAll() {
		err := fmt.Errorf("adding layer with blob %s: storage did not read the whole layer", p.img.layers[i].Digest)
		if derr := p.s.store.DeleteLayer(id); derr != nil {
			return fmt.Errorf("%w (and deleting it: %v)", err, derr)
		}
		return err
	}
	return nil
}

// fetch downloads layer i once, digesting the blob, decompressing it,
// scanning its tar entries, digesting the uncompressed tar and writing it
// to w; the digests must match the manifest and the config's diff_ids. It
// returns what the scan saw and the uncompressed size.
func (p *fastPuller) fetch(ctx context.Context, i int, w io.Writer) (*layerFacts, int64, error) {
	info := p.img.layers[i]
	body, _, err := p.src.GetBlob(ctx, info, none.NoCache)
	if err != nil {
		return nil, 0, fmt.Errorf("reading blob %s: %w", info.Digest, err)
	}
	defer body.Close()
	in := p.events.reader(io.LimitReader(body, info.Size+1), info)
	blobDigest := digest.Canonical.Digester()
	raw := io.TeeReader(in, blobDigest.Hash())
	lf := newLayerFacts()
	out := &sinkWriter{w: w}
	diffID, scanErr := scanAndDigest(raw, lf, out)
	if scanErr == nil {
		_, scanErr = io.Copy(io.Discard, raw) // bytes after the compressed stream
	}
	size := int64(in.offset)
	switch {
	case in.err != nil: // the transfer failed, not the content
		return nil, 0, fmt.Errorf("reading blob %s: %w", info.Digest, in.err)
	case out.err != nil: // the spool or the unpack failed, not the content
		return nil, 0, fmt.Errorf("storing blob %s: %w", info.Digest, out.err)
	case scanErr != nil && errors.Is(scanErr, ctx.Err()):
		return nil, 0, scanErr
	case scanErr != nil:
		return nil, 0, &layerRejectedError{digest: info.Digest.String(), err: scanErr}
	case blobDigest.Digest() != info.Digest:
		return nil, 0, fmt.Errorf("blob %s: digest mismatch: got %s", info.Digest, blobDigest.Digest())
	case size != info.Size:
		return nil, 0, fmt.Errorf("blob %s: size %d does not match expected %d", info.Digest, size, info.Size)
	case diffID != p.img.diffIDs[i]:
		return nil, 0, fmt.Errorf("layer %d (blob %s) does not match config's DiffID %q", i, info.Digest, p.img.diffIDs[i])
	}
	p.facts.add(info.Digest.String(), lf)
	in.finish()
	return lf, out.n, nil
}

// sinkWriter counts what reaches w and keeps its first error, so a failed
// spool or unpack is not taken for a bad layer.
type sinkWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (s *sinkWriter) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	s.n += int64(n)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

// scanAndDigest decompresses a layer, rejecting unsafe tar entries (see
// checkEntry), copies the uncompressed stream to w and returns its
// digest.
func scanAndDigest(r io.Reader, f *layerFacts, w io.Writer) (digest.Digest, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(10)
	var plain io.Reader = br
	switch archive.DetectCompression(head) {
	case archive.Uncompressed:
	case archive.Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("decompress: %w", err)
		}
		defer zr.Close()
		plain = zr
	default: // whatever else storage would accept, decompressed as it does
		dr, err := archive.DecompressStream(br)
		if err != nil {
			return "", fmt.Errorf("decompress: %w", err)
		}
		defer dr.Close()
		plain = dr
	}
	d := digest.Canonical.Digester()
	tee := io.TeeReader(plain, io.MultiWriter(d.Hash(), w))
	if err := scanTar(tee, f); err != nil {
		return "", err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // padding; gzip checksum
		return "", fmt.Errorf("decompress: %w", err)
	}
	return d.Digest(), nil
}

// commit writes the image record as containers/image's storage
// destination does (ID, big-data keys, digests, creation date, metadata,
// name), or adds the name and data to an existing image with that ID.
func (p *fastPuller) commit(destRef types.ImageReference, top string) (string, error) {
	fi := p.img
	id := fi.configInfo.Digest.Encoded()
	opts, err := fi.imageOptions()
	if err != nil {
		return "", err
	}
	store := p.s.store
	var names []string
	if name := destRef.DockerReference(); name != nil {
		names = []string{name.String()}
	}
	// Naming the image as it is created saves a rewrite of images.json;
	// a name another image holds (a moved tag) goes through AddNames.
	withNames := *opts
	withNames.NamesHistory = names
	_, err = store.CreateImage(id, names, top, "", &withNames)
	if errors.Is(err, storage.ErrDuplicateName) {
		_, err = store.CreateImage(id, nil, top, "", opts)
	} else if err == nil {
		return id, nil
	}
	created := err == nil
	if err != nil {
		if err := p.updateImage(id, top, opts, err); err != nil {
			return "", err
		}
	}
	if len(names) > 0 {
		if err := store.AddNames(id, names); err != nil {
			if created {
				_, _ = store.DeleteImage(id, true)
			}
			return "", fmt.Errorf("adding name %s to image %q: %w", names[0], id, err)
		}
	}
	return id, nil
}

// updateImage sets the data of an image that already has this ID, after
// CreateImage failed with err.
func (p *fastPuller) updateImage(id, top string, opts *storage.ImageOptions, err error) error {
	store := p.s.store
	if !errors.Is(err, storage.ErrDuplicateID) {
		return fmt.Errorf("creating image %q: %w", id, err)
	}
	img, err := store.Image(id)
	if err != nil {
		return fmt.Errorf("reading image %q: %w", id, err)
	}
	if img.TopLayer != top {
		return fmt.Errorf("image with ID %q already exists, but uses a different top layer: %w", id, storage.ErrDuplicateID)
	}
	for _, bd := range opts.BigData {
		if err := store.SetImageBigData(id, bd.Key, bd.Data, manifest.Digest); err != nil {
			return fmt.Errorf("saving big data %q for image %q: %w", bd.Key, id, err)
		}
	}
	if err := store.SetMetadata(id, opts.Metadata); err != nil {
		return fmt.Errorf("saving metadata for image %q: %w", id, err)
	}
	return nil
}

// imageOptions are the record's creation date, big data (config, the
// top-level manifest when it is a list, the instance manifest under its
// digest key and the default key) and metadata (no signatures: "{}").
func (fi *fastImage) imageOptions() (*storage.ImageOptions, error) {
	opts := &storage.ImageOptions{Metadata: "{}"}
	if fi.created != nil && fi.created.Created != nil {
		opts.CreationDate = *fi.created.Created
	}
	opts.BigData = append(opts.BigData, storage.ImageBigDataOption{
		Key: fi.configInfo.Digest.String(), Data: fi.config, Digest: digest.Canonical.FromBytes(fi.config),
	})
	if !bytes.Equal(fi.topManifest, fi.manifest) {
		d, err := manifest.Digest(fi.topManifest)
		if err != nil {
			return nil, fmt.Errorf("digesting top-level manifest: %w", err)
		}
		opts.BigData = append(opts.BigData, storage.ImageBigDataOption{
			Key: storage.ImageDigestManifestBigDataNamePrefix + "-" + d.String(), Data: fi.topManifest, Digest: d,
		})
	}
	d, err := manifest.Digest(fi.manifest)
	if err != nil {
		return nil, fmt.Errorf("digesting manifest: %w", err)
	}
	opts.BigData = append(opts.BigData,
		storage.ImageBigDataOption{Key: storage.ImageDigestManifestBigDataNamePrefix + "-" + d.String(), Data: fi.manifest, Digest: d},
		storage.ImageBigDataOption{Key: storage.ImageDigestBigDataKey, Data: fi.manifest, Digest: d},
	)
	return opts, nil
}
