package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crio-runtime/crio/test/registry"
)

// A spool shows its reader nothing before the download vouched for the
// layer, the download's error when it failed, and the whole layer (from
// memory or, past memSpoolMax, from a file) once it checked out.
func TestSpoolHandsOverOnlyAVerifiedLayer(t *testing.T) {
	sp := newSpool(t.TempDir(), 10)
	_, _ = sp.Write([]byte("unchecked"))
	if n, err := sp.reader().Read(make([]byte, 16)); n != 0 || !errors.Is(err, errUnverified) {
		t.Fatalf("during the download: %d bytes, %v", n, err)
	}
	failed := errors.New("blob digest mismatch")
	sp.finish(failed)
	if n, err := sp.reader().Read(make([]byte, 16)); n != 0 || !errors.Is(err, failed) {
		t.Fatalf("after a failed download: %d bytes, %v", n, err)
	}
	if sp.readAll() {
		t.Fatal("a failed layer counts as read")
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), (memSpoolMax+(1<<20))/16)
	sp = newSpool(t.TempDir(), 1<<20)
	defer sp.release()
	for off := 0; off < len(big); off += 1 << 20 {
		_, _ = sp.Write(big[off:min(off+1<<20, len(big))])
	}
	sp.finish(nil)
	if b, err := io.ReadAll(sp.reader()); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("read back %d bytes (%v), not the %d written", len(b), err, len(big))
	}
	if sp.f == nil {
		t.Error("a layer over memSpoolMax stayed in memory")
	}
	if !sp.readAll() {
		t.Error("reading to EOF does not count as read")
	}
}

// While a layer's download stalls, nothing of it is stored and storage is
// not held: layer lookups (ImageFsInfo, container creates) answer at once
// instead of waiting for the network. A download that then fails leaves
// nothing in the store. Overlay unpacks the layer into a staging directory
// as it downloads (nothing else sees it there); vfs spools it.
func TestFastPullStallHoldsNoStorageLock(t *testing.T) {
	for _, driver := range []string{"vfs", "overlay"} {
		t.Run(driver, func(t *testing.T) { testStallHoldsNoLock(t, driver) })
	}
}

func testStallHoldsNoLock(t *testing.T, driver string) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "stream:v1", registry.Image{NoBase: true, Uncompressed: true, ExtraLayers: [][]registry.TarEntry{{
		{Name: "first-file", Data: []byte("here early")},
		{Name: "big", Data: make([]byte, 6<<20)}, // the blob stalls 2 MB into it
	}}})
	px := registry.StartProxy(t, r, registry.ProxyOptions{StallBlobsAfter: 2 << 20})
	e := newEnv(t, px.Addr)
	e.opts.Driver = driver
	s := e.start()
	staging := filepath.Join(e.opts.Root, "overlay", "staging")
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Pull(ctx, px.Addr+"/stream:v1", nil, nil)
		done <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); len(px.BlobGets()) < 2; { // config, layer
		if time.Now().After(deadline) {
			t.Fatal("the pull never asked for its layer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the first 2 MB arrive
	layers := make(chan int, 1)
	go func() {
		l, err := s.Store().Layers()
		if err != nil {
			t.Error(err)
		}
		layers <- len(l)
	}()
	select {
	case n := <-layers:
		if n != 0 {
			t.Fatalf("%d layers stored before the download checked out", n)
		}
	case err := <-done:
		t.Fatalf("pull ended while its blob stalled: %v", err)
	case <-time.After(5 * time.Second):
		cancel()
		<-done
		t.Fatal("storage's layer list waited on a stalled download")
	}
	// Overlay unpacks what arrived into its staging directory, and only
	// there; vfs has unpacked nothing.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		early := false
		_ = filepath.WalkDir(e.opts.Root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "first-file" {
				if !strings.HasPrefix(p, staging+"/") {
					t.Fatalf("%s was applied before its layer checked out", p)
				}
				early = true
			}
			return nil
		})
		if early || driver != "overlay" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("overlay did not unpack the layer while it downloaded")
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a pull whose blob never finished succeeded")
	}
	storeEmpty(t, s)
	if left, _ := os.ReadDir(staging); len(left) != 0 {
		t.Errorf("the failed pull left %d staging directories", len(left))
	}
}

// Downloads that outpace the applies stop fastHeld layers ahead of them,
// so a many-layer image is never spooled whole.
func TestFastPullSpoolsBoundedAheadOfApplies(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "many:v1", registry.Image{PadLayers: 8, PadLayerSize: 4 << 10, Seed: 3})
	px := registry.StartProxy(t, r, registry.ProxyOptions{})
	s := newEnv(t, px.Addr).start()
	applied, most := 0, 0
	applyHook = func() {
		time.Sleep(40 * time.Millisecond) // the downloads run ahead meanwhile
		gets := 0
		for _, n := range px.BlobGets() {
			gets += n
		}
		most = max(most, gets-1-applied) // minus the config blob and the applied layers
		applied++
	}
	defer func() { applyHook = nil }()
	mustPull(t, s, px.Addr+"/many:v1", nil)
	if applied != 9 {
		t.Fatalf("%d layers applied, want 9", applied)
	}
	if most > fastHeld {
		t.Fatalf("%d layers spooled ahead of their applies, want at most %d", most, fastHeld)
	}
	t.Logf("at most %d layers spooled at once", most)
}
