package image

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/test/registry"
)

// bigImage has a 1 MiB incompressible layer so a stalled proxy can hold
// the download mid-blob.
var bigImage = registry.Image{PadLayers: 1, PadLayerSize: 1 << 20, Seed: 42}

func TestPullProgressTimeout(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "big:v1", bigImage)
	px := registry.StartProxy(t, r, registry.ProxyOptions{StallBlobsAfter: 64 << 10})
	e := newEnv(t, px.Addr)
	e.opts.PullProgressTimeout = time.Second
	s := e.start()
	_, err := s.Pull(ctxT(t), px.Addr+"/big:v1", nil, nil)
	wantKind(t, err, errdefs.ErrDeadlineExceeded, "no progress", "1s")
	storeEmpty(t, s)
}

func TestPullCallerDeadline(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "big:v1", bigImage)
	px := registry.StartProxy(t, r, registry.ProxyOptions{StallBlobsAfter: 64 << 10})
	s := newEnv(t, px.Addr).start() // watchdog disabled
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := s.Pull(ctx, px.Addr+"/big:v1", nil, nil)
	wantKind(t, err, errdefs.ErrDeadlineExceeded)
	storeEmpty(t, s)
}

func TestConcurrentPullsShareDownload(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "shared:v1", bigImage)
	px := registry.StartProxy(t, r, registry.ProxyOptions{BlobDelay: 300 * time.Millisecond})
	s := newEnv(t, px.Addr).start()
	const n = 4
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = s.Pull(ctxT(t), px.Addr+"/shared:v1", nil, nil)
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != hexOf(p.ConfigDigest) {
			t.Fatalf("pull %d: %s, %v", i, ids[i], errs[i])
		}
	}
	for d, c := range px.BlobGets() {
		if c != 1 {
			t.Errorf("blob %s fetched %d times, want 1", d, c)
		}
	}
	if len(px.BlobGets()) != len(p.LayerDigests)+1 {
		t.Errorf("blob GETs %v, want layers+config", px.BlobGets())
	}
}

func TestConcurrentRemoves(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "rm:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	mustPull(t, s, r.Ref("rm:v1"), nil)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: r.Ref("rm:v1")}, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("remove %d: %v", i, err)
		}
	}
	storeEmpty(t, s)
}

func TestHostileImagesRejected(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	outside := t.TempDir() // a host dir a hostile layer aims at
	target := filepath.Join(outside, "pwned")
	dotdot := "../../../../../../../../../../../../.." + target
	cases := map[string]registry.Image{
		"dotdot": {ExtraLayers: [][]registry.TarEntry{{{Name: dotdot, Data: []byte("x")}}}},
		"symlink escape": {ExtraLayers: [][]registry.TarEntry{{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: outside},
			{Name: "evil/pwned", Data: []byte("x")},
		}}},
		"relative symlink escape": {ExtraLayers: [][]registry.TarEntry{{
			{Name: "tmp/evil", Type: tar.TypeSymlink, Linkname: "../../../../../../../../../.." + outside},
			{Name: "tmp/evil/pwned", Data: []byte("x")},
		}}},
		"hardlink outside": {ExtraLayers: [][]registry.TarEntry{{
			{Name: "passwd", Type: tar.TypeLink, Linkname: "../../../../../../../../etc/passwd"},
		}}},
		"malformed tar": {RawLayers: [][]byte{[]byte("this is not a tar archive, not at all, definitely not" + string(make([]byte, 600)))}},
	}
	s := newEnv(t, r.Addr).start()
	for name, img := range cases {
		t.Run(name, func(t *testing.T) {
			repo := fmt.Sprintf("hostile/%d:v1", len(name))
			r.Push(t, repo, img)
			_, err := s.Pull(ctxT(t), r.Ref(repo), nil, nil)
			wantKind(t, err, errdefs.ErrInvalidArgument)
			t.Logf("rejected: %v", err)
			storeEmpty(t, s)
			if _, err := os.Stat(target); err == nil {
				t.Fatalf("%s was written outside the rootfs", target)
			}
		})
	}
}

func TestDigestMismatchRejected(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	layer := [][]registry.TarEntry{{{Name: "f", Data: make([]byte, 8192)}}}
	p := r.PushImage(t, "corrupt:v1", registry.Image{ExtraLayers: layer})
	raw := r.PushImage(t, "corrupt:raw", registry.Image{ExtraLayers: layer, Uncompressed: true, NoBase: true})
	for name, c := range map[string]struct{ tag, digest string }{
		"gzip layer":         {"v1", p.LayerDigests[1]},
		"uncompressed layer": {"raw", raw.LayerDigests[0]},
		"config":             {"v1", p.ConfigDigest},
	} {
		t.Run(name, func(t *testing.T) {
			px := registry.StartProxy(t, r, registry.ProxyOptions{CorruptDigests: []string{c.digest}})
			s := newEnv(t, px.Addr).start()
			_, err := s.Pull(ctxT(t), px.Addr+"/corrupt:"+c.tag, nil, nil)
			wantKind(t, err, errdefs.ErrInvalidArgument)
			t.Logf("rejected: %v", err)
			storeEmpty(t, s)
		})
	}
}

// A layer writing below a lower layer's symlink that points outside the
// rootfs is refused (vfs fails applying it, overlay by our check), and
// nothing lands outside.
func TestCrossLayerSymlinkEscapeRejected(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	outside := t.TempDir()
	r.Push(t, "cross:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{
		{{Name: "evil", Type: tar.TypeSymlink, Linkname: outside}},
		{{Name: "evil/pwned", Data: []byte("x")}},
	}})
	s := newEnv(t, r.Addr).start()
	_, err := s.Pull(ctxT(t), r.Ref("cross:v1"), nil, nil)
	wantKind(t, err, errdefs.ErrInvalidArgument)
	storeEmpty(t, s)
	if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
		t.Fatal("a layer wrote outside the rootfs through a lower layer's symlink")
	}
}
