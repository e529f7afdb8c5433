package image

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containers/storage"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// viewCache remembers what ImageStatus, ListImages and ForContainer
// computed (name resolution, the store's records, their CRI form) until the
// image store changes. Without it each status call parses references
// (regexps) and takes containers/storage's image lock (flock, reload
// check): most of its CPU here.
//
// A change is noticed cheaply, by other processes too (podman), by the
// image stores' lock tokens (lockTokens): an entry is never stored under a
// newer token than its data. This service's own changes that storage does
// not see (an image hidden for a background reap, a pull's new names) bump
// gen.
type viewCache struct {
	mu    sync.Mutex
	locks lockTokens // images.lock of each read-write image store
	gen   uint64
	stamp []byte // tokens + gen the entries below were computed under

	lookups map[string]*storage.Image // input -> image (nil: none)
	cri     map[string]*runtimeapi.Image
	list    []*runtimeapi.Image // nil: not computed
}

// maxLookups bounds the names remembered (inputs come from requests).
const maxLookups = 1024

// initViews opens the image stores' lock files. Caching stays off when
// the driver names extra image stores (their locks are not tracked here)
// or a lock file cannot be opened.
func (s *Service) initViews() {
	c := &s.views
	c.reset(nil)
	for _, o := range s.opts.DriverOptions {
		if strings.Contains(strings.ToLower(o), "imagestore") {
			return
		}
	}
	roots := []string{s.opts.Root}
	if s.opts.ImageStore != "" {
		roots = append(roots, s.opts.ImageStore)
	}
	driver := s.store.GraphDriverName()
	var paths []string
	for _, r := range roots {
		paths = append(paths, filepath.Join(r, driver+"-images", "images.lock"))
	}
	locks, err := openLockTokens(paths)
	if err != nil {
		s.log.Warn("image status cache off", "err", err)
		return
	}
	c.locks = locks
}

func (c *viewCache) closeLocks() {
	c.locks.close()
	c.locks = nil
}

func (c *viewCache) reset(stamp []byte) {
	c.stamp = stamp
	c.lookups = map[string]*storage.Image{}
	c.cri = map[string]*runtimeapi.Image{}
	c.list = nil
}

// now returns the current stamp, or nil when caching is off. Holds c.mu.
func (c *viewCache) now() []byte {
	tokens := c.locks.read()
	if tokens == nil {
		return nil
	}
	return append(binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(tokens)), c.gen), tokens...)
}

// begin returns the stamp to compute under, dropping stale entries.
func (c *viewCache) begin() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.now()
	if cur == nil || !bytes.Equal(cur, c.stamp) {
		c.reset(cur)
	}
	return cur
}

// bump forgets everything: this service changed what lookups see.
func (c *viewCache) bump() {
	c.mu.Lock()
	c.gen++
	c.reset(nil)
	c.mu.Unlock()
}

func (c *viewCache) valid(stamp []byte) bool {
	return stamp != nil && bytes.Equal(stamp, c.stamp)
}

func (c *viewCache) getLookup(stamp []byte, in string) (*storage.Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(stamp) {
		return nil, false
	}
	img, ok := c.lookups[in]
	return img, ok
}

func (c *viewCache) putLookup(stamp []byte, in string, img *storage.Image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(stamp) {
		return
	}
	if len(c.lookups) >= maxLookups {
		c.lookups = map[string]*storage.Image{}
	}
	c.lookups[in] = img
}

func (c *viewCache) getCRI(stamp []byte, id string) *runtimeapi.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(stamp) {
		return nil
	}
	return c.cri[id]
}

func (c *viewCache) putCRI(stamp []byte, id string, img *runtimeapi.Image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid(stamp) && len(c.cri) < maxLookups {
		c.cri[id] = img
	}
}

func (c *viewCache) getList(stamp []byte) []*runtimeapi.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(stamp) || c.list == nil {
		return nil
	}
	return append([]*runtimeapi.Image(nil), c.list...)
}

func (c *viewCache) putList(stamp []byte, list []*runtimeapi.Image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid(stamp) {
		c.list = append([]*runtimeapi.Image{}, list...)
	}
}
