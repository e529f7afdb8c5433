package untar

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containers/storage"
	"github.com/containers/storage/pkg/archive"
	"github.com/containers/storage/pkg/reexec"
)

func TestMain(m *testing.M) {
	// The fallback (and storage's other helpers) re-execute this binary.
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot, overlay)")
	}
}

type entry struct {
	name, link, body string
	typ              byte
}

func tarOf(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// A symlink to "/" followed by a file under it must land inside the layer:
// unconfined, archive.Unpack follows the link to the host's root.
func TestSymlinkCannotEscapeLayer(t *testing.T) {
	needRoot(t)
	outside := t.TempDir() // exists on the host, outside the layer
	layer := filepath.Join(t.TempDir(), "diff")
	rel := strings.TrimPrefix(outside, "/")
	tr := tarOf(t,
		entry{name: "a", link: "/", typ: tar.TypeSymlink},
		entry{name: "a/" + rel + "/escaped", body: "x", typ: tar.TypeReg},
	)
	if err := UntarUncompressed(tr, layer, &archive.TarOptions{}); err != nil {
		t.Fatalf("untar: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(outside, "escaped")); err == nil {
		t.Fatalf("the archive wrote %s outside the layer", filepath.Join(outside, "escaped"))
	}
	if _, err := os.Stat(filepath.Join(layer, rel, "escaped")); err != nil {
		t.Fatalf("file not inside the layer: %v", err)
	}
	if Calls() == 0 {
		t.Fatal("the unpack fell back to the re-exec")
	}
}

// "../" entries are refused and write nothing next to the layer.
func TestDotDotCannotEscapeLayer(t *testing.T) {
	needRoot(t)
	parent := t.TempDir()
	layer := filepath.Join(parent, "diff")
	for _, name := range []string{"../escaped", "x/../../escaped"} {
		tr := tarOf(t, entry{name: name, body: "x", typ: tar.TypeReg})
		_ = UntarUncompressed(tr, layer, &archive.TarOptions{})
		if _, err := os.Lstat(filepath.Join(parent, "escaped")); err == nil {
			t.Fatalf("%q wrote outside the layer", name)
		}
	}
	// A hard link to a host path resolves in the layer too.
	tr := tarOf(t, entry{name: "pw", link: "../../../../../../etc/passwd", typ: tar.TypeLink})
	_ = UntarUncompressed(tr, layer, &archive.TarOptions{})
	if fi, err := os.Lstat(filepath.Join(layer, "pw")); err == nil && fi.Mode().IsRegular() {
		t.Fatal("a hard link reached the host's /etc/passwd")
	}
}

// The overlay driver must unpack through this package: fails when the
// linkname stops naming overlay's untar variable (a storage upgrade).
func TestOverlayUsesInProcessUntar(t *testing.T) {
	needRoot(t)
	Install()
	dir := t.TempDir()
	store, err := storage.GetStore(storage.StoreOptions{
		RunRoot: filepath.Join(dir, "run"), GraphRoot: filepath.Join(dir, "root"), GraphDriverName: "overlay",
	})
	if err != nil {
		t.Skipf("overlay store: %v", err)
	}
	defer func() { _, _ = store.Shutdown(true) }()
	before := Calls()
	tr := tarOf(t,
		entry{name: "etc", typ: tar.TypeDir},
		entry{name: "etc/hello", body: "hi", typ: tar.TypeReg},
	)
	layer, _, err := store.PutLayer("", "", nil, "", false, nil, tr)
	if err != nil {
		t.Fatalf("put layer: %v", err)
	}
	if Calls() == before {
		t.Fatal("overlay unpacked the layer without internal/untar (the linkname hook is not in effect)")
	}
	// A whiteout (a character device made inside the confined thread)
	// hides the lower file.
	tr = tarOf(t,
		entry{name: "etc/.wh.hello", typ: tar.TypeReg},
		entry{name: "etc/new", body: "n", typ: tar.TypeReg},
	)
	top, _, err := store.PutLayer("", layer.ID, nil, "", false, nil, tr)
	if err != nil {
		t.Fatalf("put layer with a whiteout: %v", err)
	}
	mnt, err := store.Mount(top.ID, "")
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	defer func() { _, _ = store.Unmount(top.ID, true) }()
	if _, err := os.Lstat(filepath.Join(mnt, "etc/hello")); !os.IsNotExist(err) {
		t.Fatalf("whiteout did not hide etc/hello: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "etc/new")); err != nil || string(b) != "n" {
		t.Fatalf("layer content: %q, %v", b, err)
	}
	lower, err := store.Mount(layer.ID, "")
	if err != nil {
		t.Fatalf("mount lower: %v", err)
	}
	defer func() { _, _ = store.Unmount(layer.ID, true) }()
	if b, err := os.ReadFile(filepath.Join(lower, "etc/hello")); err != nil || string(b) != "hi" {
		t.Fatalf("lower layer content: %q, %v", b, err)
	}
}

// smallReads hands out at most n bytes per Read, as storage's reader
// chain (tar-split, the id logger) does: one tar header at a time.
type smallReads struct {
	r io.Reader
	n int
}

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// A layer of many small entries (busybox: ~400 hard links) reaches the
// unpacking thread in a few large pieces, however finely storage passes
// it on: every read of the pipe is a switch to that locked thread.
func TestUnpackReadsThePipeInLargePieces(t *testing.T) {
	needRoot(t)
	entries := []entry{{name: "bin", typ: tar.TypeDir}, {name: "bin/busybox", body: strings.Repeat("x", 4096), typ: tar.TypeReg}}
	for i := range 400 {
		entries = append(entries, entry{name: fmt.Sprintf("bin/applet%d", i), link: "bin/busybox", typ: tar.TypeLink})
	}
	tr := tarOf(t, entries...)
	size := tr.Len()
	dest := filepath.Join(t.TempDir(), "layer")
	before := pipeReads.Load()
	if err := UntarUncompressed(smallReads{tr, 512}, dest, nil); err != nil {
		t.Fatal(err)
	}
	reads := pipeReads.Load() - before
	if st, err := os.Stat(filepath.Join(dest, "bin/applet399")); err != nil || st.Size() != 4096 {
		t.Fatalf("layer not unpacked: %v", err)
	}
	if limit := int64(size/pipeBuffer + 10); reads > limit {
		t.Errorf("the unpacking thread read its pipe %d times for %d bytes (want <= %d)", reads, size, limit)
	}
}
