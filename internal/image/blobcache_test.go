package image

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crio-runtime/crio/test/registry"
)

// Pulls use a memory-only blob-info cache: no SQLite file is opened (and
// fsynced) per pull.
func TestPullKeepsNoSQLiteBlobCache(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "cache:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	mustPull(t, s, r.Ref("cache:v1"), nil)
	matches, err := filepath.Glob(filepath.Join(s.opts.Root, "*", "*.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(s.tmp, "*.sqlite"))
	if len(matches)+len(more) != 0 {
		t.Fatalf("a pull wrote a SQLite blob-info cache: %v %v", matches, more)
	}
	if fi, err := os.Stat(s.systemContext().BlobInfoCacheDir); err != nil || fi.IsDir() {
		t.Fatalf("blob-info cache dir must be a regular file (memory-only cache): %v %v", fi, err)
	}
}
