package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/crio-runtime/crio/test/registry"
)

// readAsync reads n bytes from r in the background.
func readAsync(r io.Reader, n int) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			b = nil
		}
		ch <- b
	}()
	return ch
}

// The apply side of a spool sees only what the download vouched for:
// bytes up to the last checked header, the rest once the layer checked
// out, and the download's error instead of unchecked bytes.
func TestSpoolShowsOnlyCheckedBytes(t *testing.T) {
	sp := newSpool(t.TempDir(), 10)
	r := sp.reader()
	head := bytes.Repeat([]byte("h"), markBatch)
	_, _ = sp.Write(head)
	got := readAsync(r, len(head))
	select {
	case b := <-got:
		t.Fatalf("read %d bytes before any header was checked", len(b))
	case <-time.After(50 * time.Millisecond):
	}
	sp.mark()
	if b := <-got; !bytes.Equal(b, head) {
		t.Fatalf("after mark read %d bytes", len(b))
	}
	_, _ = sp.Write([]byte("unchecked"))
	failed := errors.New("blob digest mismatch")
	sp.finish(failed)
	if n, err := r.Read(make([]byte, 16)); n != 0 || !errors.Is(err, failed) {
		t.Fatalf("after a failed download: %d bytes, %v", n, err)
	}
	if gotEOF, gotErr := sp.outcome(); gotEOF || !gotErr {
		t.Fatalf("outcome %v, %v", gotEOF, gotErr)
	}

	// A layer larger than memSpoolMax moves to a file while being read.
	big := bytes.Repeat([]byte("0123456789abcdef"), (memSpoolMax+(1<<20))/16)
	sp = newSpool(t.TempDir(), 1<<20)
	defer sp.release()
	all := readAsync(sp.reader(), len(big))
	for off := 0; off < len(big); off += 1 << 20 {
		_, _ = sp.Write(big[off:min(off+1<<20, len(big))])
		sp.mark()
	}
	sp.finish(nil)
	if b := <-all; !bytes.Equal(b, big) {
		t.Fatalf("read back %d bytes, not the %d written", len(b), len(big))
	}
	if sp.f == nil {
		t.Error("a layer over memSpoolMax stayed in memory")
	}
}

// A layer is applied while its blob is still downloading (its first file
// is on disk before the download ends, and so is the part of a large file
// that has arrived), and a download that then fails leaves nothing in the
// store.
func TestFastPullAppliesWhileDownloading(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "stream:v1", registry.Image{NoBase: true, Uncompressed: true, ExtraLayers: [][]registry.TarEntry{{
		{Name: "first-file", Data: []byte("here early")},
		{Name: "pad1", Data: make([]byte, 512<<10)}, // more than the untar's pipe buffer
		{Name: "big", Data: make([]byte, 6<<20)},    // the blob stalls 1.5 MB into it
	}}})
	px := registry.StartProxy(t, r, registry.ProxyOptions{StallBlobsAfter: 2 << 20})
	e := newEnv(t, px.Addr)
	s := e.start()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Pull(ctx, px.Addr+"/stream:v1", nil, nil)
		done <- err
	}()
	// Of big's 1.5 MB before the stall, up to 512 KiB may sit in the
	// untar's pipe buffers; the rest is on disk while the blob stalls.
	found, bigSize := "", int64(0)
	for deadline := time.Now().Add(30 * time.Second); (found == "" || bigSize < 512<<10) && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("pull ended while its blob stalled: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		_ = filepath.WalkDir(e.opts.Root, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
			case d.Name() == "first-file":
				found = p
			case d.Name() == "big" && d.Type().IsRegular():
				if fi, err := d.Info(); err == nil {
					bigSize = fi.Size()
				}
			}
			return nil
		})
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a pull whose blob never finished succeeded")
	}
	if found == "" {
		t.Fatal("nothing of the layer was applied while its blob downloaded")
	}
	if bigSize < 512<<10 {
		t.Fatalf("a large file waited for its download: %d bytes of it on disk during the stall", bigSize)
	}
	t.Logf("applied during the download: %s, and %d bytes of big", found, bigSize)
	storeEmpty(t, s)
}
