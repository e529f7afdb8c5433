package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/containers/image/v5/pkg/compression"
	"github.com/containers/image/v5/types"
	"github.com/containers/storage/pkg/archive"
)

// checkedRef wraps a registry reference so every layer blob read from it is
// also parsed as a tar stream and rejected before it reaches the store when
// it is malformed or tries to write outside the rootfs. containers/storage
// would contain such writes (it unpacks in a chroot); we refuse the image
// outright instead.
type checkedRef struct {
	types.ImageReference
	facts *pullFacts
}

func (r checkedRef) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	src, err := r.ImageReference.NewImageSource(ctx, sys)
	if err != nil {
		return nil, err
	}
	return &checkedSource{ImageSource: src, facts: r.facts}, nil
}

type checkedSource struct {
	types.ImageSource
	facts *pullFacts
}

func (s *checkedSource) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	rc, size, err := s.ImageSource.GetBlob(ctx, info, cache)
	if err != nil || isConfigMediaType(info.MediaType) {
		return rc, size, err
	}
	return newScanReader(rc, info.Digest.String(), s.facts), size, nil
}

// pullFacts collects, per downloaded layer, what the cross-layer check
// needs: symlinks whose target leaves the rootfs, and the directories the
// layer writes into. Layers arrive concurrently and out of order, so the
// check runs once the pull is done (see crossLayerCheck).
type pullFacts struct {
	mu     sync.Mutex
	layers map[string]*layerFacts
}

type layerFacts struct {
	escaping []string        // symlinks with an absolute or "../" target
	dirs     map[string]bool // parent directories of entries
	// For a layer the pull commits itself (see stage): the owners storage
	// records (whiteouts left out, as storage does).
	uids, gids map[uint32]bool
}

func newLayerFacts() *layerFacts {
	return &layerFacts{dirs: map[string]bool{}, uids: map[uint32]bool{}, gids: map[uint32]bool{}}
}

// owners returns the layer's uids and gids, sorted, as storage lists them.
func (f *layerFacts) owners() (uids, gids []uint32) {
	return slices.Sorted(maps.Keys(f.uids)), slices.Sorted(maps.Keys(f.gids))
}

func (p *pullFacts) add(digest string, f *layerFacts) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.layers == nil {
		p.layers = map[string]*layerFacts{}
	}
	p.layers[digest] = f
}

// crossLayerCheck rejects a layer that writes below a symlink an earlier
// layer pointed outside the rootfs. Depending on the storage driver that
// write would follow the link (inside a chroot) or shadow it; either way it
// is an escape attempt, and no image builder produces it.
func (p *pullFacts) crossLayerCheck(order []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var links []string
	for _, d := range order {
		f := p.layers[d]
		if f == nil {
			continue // reused from the store: checked when first pulled
		}
		for _, l := range links {
			for dir := range f.dirs {
				if dir == l || strings.HasPrefix(dir, l+"/") {
					return &layerRejectedError{digest: d, err: fmt.Errorf("entry in %q writes through a lower layer's symlink %q that points outside the rootfs", dir, l)}
				}
			}
		}
		links = append(links, f.escaping...)
	}
	return nil
}

func isConfigMediaType(mt string) bool {
	return strings.Contains(mt, "config") || mt == "application/vnd.docker.container.image.v1+json"
}

// scanReader passes a blob through unchanged while a goroutine parses a copy
// of it; the blob's EOF is only reported once the parse succeeded.
type scanReader struct {
	src    io.ReadCloser
	pw     *io.PipeWriter
	done   chan struct{}
	err    error // scan verdict, valid after done
	digest string
}

func newScanReader(src io.ReadCloser, digest string, facts *pullFacts) *scanReader {
	pr, pw := io.Pipe()
	s := &scanReader{src: src, pw: pw, done: make(chan struct{}), digest: digest}
	go func() {
		defer close(s.done)
		f := newLayerFacts()
		s.err = scanLayer(pr, f)
		if s.err == nil && facts != nil {
			facts.add(digest, f)
		}
		if s.err != nil {
			s.err = &layerRejectedError{digest: digest, err: s.err}
			pr.CloseWithError(s.err)
			return
		}
		_, _ = io.Copy(io.Discard, pr) // trailing padding after the tar end
	}()
	return s
}

func (s *scanReader) Read(p []byte) (int, error) {
	n, err := s.src.Read(p)
	if n > 0 {
		if _, werr := s.pw.Write(p[:n]); werr != nil {
			<-s.done
			return 0, s.err
		}
	}
	if errors.Is(err, io.EOF) {
		s.pw.Close()
		<-s.done
		if s.err != nil {
			return n, s.err
		}
	}
	return n, err
}

func (s *scanReader) Close() error {
	s.pw.CloseWithError(errors.New("blob closed"))
	<-s.done
	return s.src.Close()
}

// scanLayer parses a (possibly compressed) layer and rejects entries that
// name ".." or that write through a symlink created earlier in the layer.
func scanLayer(r io.Reader, f *layerFacts) error {
	dr, _, err := compression.AutoDecompress(r)
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	defer dr.Close()
	return scanTar(dr, f)
}

// scanTar checks every entry of an uncompressed layer (see checkEntry).
func scanTar(r io.Reader, f *layerFacts) error {
	tr := tar.NewReader(r)
	links := map[string]bool{}
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("malformed tar after %d entries: %w", entries, err)
		}
		if err := checkEntry(hdr, links, f); err != nil {
			return err
		}
	}
}

func checkEntry(hdr *tar.Header, links map[string]bool, f *layerFacts) error {
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if err := checkParents(name, links); err != nil {
		return err
	}
	if dir := path.Dir(name); dir != "." {
		f.dirs[dir] = true
	}
	if !strings.HasPrefix(path.Base(hdr.Name), archive.WhiteoutPrefix) {
		f.uids[uint32(hdr.Uid)] = true
		f.gids[uint32(hdr.Gid)] = true
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		links[name] = true
		if t := hdr.Linkname; path.IsAbs(t) || strings.HasPrefix(path.Clean(path.Join(path.Dir(name), t)), "..") {
			f.escaping = append(f.escaping, name)
		}
	case tar.TypeLink:
		target, err := cleanEntryName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link %q: %w", hdr.Name, err)
		}
		if err := checkParents(target, links); err != nil {
			return fmt.Errorf("hard link %q: %w", hdr.Name, err)
		}
		if links[target] {
			return fmt.Errorf("hard link %q points at symlink %q", hdr.Name, hdr.Linkname)
		}
		delete(links, name)
	default:
		delete(links, name)
	}
	return nil
}

// cleanEntryName rejects any ".." component (legitimate layers never have
// one) and returns the path relative to the rootfs.
func cleanEntryName(name string) (string, error) {
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("entry %q points outside the rootfs", name)
		}
	}
	return strings.TrimPrefix(path.Clean("/"+name), "/"), nil
}

// checkParents rejects writing below a symlink created in the same layer:
// image builders never do that; an attacker does it to escape the rootfs.
func checkParents(name string, links map[string]bool) error {
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if links[dir] {
			return fmt.Errorf("entry %q writes through symlink %q", name, dir)
		}
	}
	return nil
}
