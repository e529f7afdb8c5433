package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/containers/storage"
	digest "github.com/opencontainers/go-digest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/test/registry"
)

// pathsTaken runs fn and returns how many pulls took each path.
func pathsTaken(fn func()) (fast, general int64) {
	f0, g0 := pullPaths.fast.Load(), pullPaths.general.Load()
	fn()
	return pullPaths.fast.Load() - f0, pullPaths.general.Load() - g0
}

func TestFastPathTaken(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "fast:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{{{Name: "etc/x", Data: []byte("x")}}}})
	r.Push(t, "fast:multi", registry.Image{Platforms: []string{"linux/arm64", "linux/amd64"}})
	r.Push(t, "fast:raw", registry.Image{Uncompressed: true})
	s := newEnv(t, r.Addr).start()
	for _, tag := range []string{"v1", "multi", "raw", "v1"} {
		fast, general := pathsTaken(func() { mustPull(t, s, r.Ref("fast:"+tag), nil) })
		if fast != 1 || general != 0 {
			t.Errorf("pull of fast:%s: %d direct, %d copy.Image; want the direct path", tag, fast, general)
		}
	}
	s.noFastPull = true
	if fast, general := pathsTaken(func() { mustPull(t, s, r.Ref("fast:v1"), nil) }); fast != 0 || general != 1 {
		t.Errorf("with the direct path off: %d direct, %d copy.Image", fast, general)
	}
}

// Images written by the direct path and by copy.Image are the same
// records (image and layers), and each path reuses the other's layers.
func TestFastPullRecordsMatchCopyImage(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	base := registry.Image{User: "1000", Cmd: []string{"sh"}, Volumes: []string{"/data"}}
	r.Push(t, "same:v1", base)
	r.Push(t, "same:multi", registry.Image{Platforms: []string{"linux/arm64", "linux/amd64"}, Cmd: []string{"x"}})
	more := base
	more.ExtraLayers = [][]registry.TarEntry{{{Name: "usr/y", Data: []byte("y")}}}
	r.Push(t, "same:v2", more)
	fast := newEnv(t, r.Addr).start()
	general := newEnv(t, r.Addr).start()
	general.noFastPull = true
	for _, ref := range []string{"same:v1", "same:multi", "same:v1@" + mustDigest(t, r, "same", "v1")} {
		a, b := mustPull(t, fast, r.Ref(ref), nil), mustPull(t, general, r.Ref(ref), nil)
		if a != b {
			t.Fatalf("%s: direct path id %s, copy.Image id %s", ref, a, b)
		}
		if da, db := dumpImage(t, fast.Store(), a), dumpImage(t, general.Store(), b); da != db {
			t.Fatalf("%s: records differ\ndirect:     %s\ncopy.Image: %s", ref, da, db)
		}
	}
	// v2 shares v1's layers: each path reuses what the other wrote.
	fast.noFastPull, general.noFastPull = true, false
	a, b := mustPull(t, fast, r.Ref("same:v2"), nil), mustPull(t, general, r.Ref("same:v2"), nil)
	if da, db := dumpImage(t, fast.Store(), a), dumpImage(t, general.Store(), b); da != db {
		t.Fatalf("v2 records differ\ncopy.Image: %s\ndirect:     %s", da, db)
	}
	v1 := hexOf(mustDigestConfig(t, fast, r.Ref("same:v1")))
	for _, s := range []*Service{fast, general} {
		top, err := s.Store().Image(v1)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := s.Store().Image(a)
		l, err := s.Store().Layer(img.TopLayer)
		if err != nil || l.Parent != top.TopLayer {
			t.Errorf("v2's top layer %v does not sit on v1's %s (%v)", l, top.TopLayer, err)
		}
	}
	// A moved tag: the name leaves the old image on both paths.
	moved := base
	moved.Cmd = []string{"moved"}
	r.Push(t, "same:v1", moved)
	fast.noFastPull, general.noFastPull = false, true
	m1, m2 := mustPull(t, fast, r.Ref("same:v1"), nil), mustPull(t, general, r.Ref("same:v1"), nil)
	if m1 != m2 || m1 == v1 {
		t.Fatalf("moved tag: ids %s, %s (old %s)", m1, m2, v1)
	}
	for _, id := range []string{m1, v1} {
		if da, db := dumpImage(t, fast.Store(), id), dumpImage(t, general.Store(), id); da != db {
			t.Fatalf("after the tag moved, records of %s differ\ndirect:     %s\ncopy.Image: %s", id, da, db)
		}
	}
}

func mustDigestConfig(t *testing.T, s *Service, ref string) string {
	t.Helper()
	return mustStatus(t, s, ref).Id
}

func mustDigest(t *testing.T, r *registry.Registry, repo, tag string) string {
	t.Helper()
	_, _, d, err := r.GetManifest(repo, tag)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dumpImage renders what podman, CRI-O and our status read of an image:
// the record, its big data, and its layer chain.
func dumpImage(t *testing.T, store storage.Store, id string) string {
	t.Helper()
	img, err := store.Image(id)
	if err != nil {
		t.Fatal(err)
	}
	c := *img
	sort.Strings(c.BigDataNames)
	data := map[string]string{}
	for _, k := range c.BigDataNames {
		b, err := store.ImageBigData(id, k)
		if err != nil {
			t.Fatal(err)
		}
		data[k] = digest.FromBytes(b).String()
	}
	var chain []storage.Layer
	for l := c.TopLayer; l != ""; {
		layer, err := store.Layer(l)
		if err != nil {
			t.Fatal(err)
		}
		lc := *layer
		lc.Created = time.Time{} // differs by run
		// The direct path hands storage the tar it already decompressed;
		// only store.Diff without an explicit compression reads this.
		lc.CompressionType = 0
		// A layer the direct path staged (overlay) has no compressed
		// size: storage's staged commit does not record one, as for
		// containers/image's own staged pulls.
		if store.GraphDriverName() == "overlay" {
			lc.CompressedSize = 0
		}
		chain = append(chain, lc)
		l = layer.Parent
	}
	c.Created = c.Created.UTC()
	out, err := json.Marshal(struct {
		Image  storage.Image
		Data   map[string]string
		Layers []storage.Layer
	}{c, data, chain})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// A layer that does not match the config's diff_id is refused by the
// direct path and leaves nothing in the store.
func TestFastPullWrongDiffIDRejected(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "diff:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{{{Name: "f", Data: []byte("f")}}}})
	mb, mt, _, err := r.GetManifest("diff", "v1")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config struct {
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
		} `json:"config"`
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	cfg, err := r.GetBlob("diff", m.Config.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	ids := c["rootfs"].(map[string]any)["diff_ids"].([]any)
	ids[len(ids)-1] = digest.FromString("not this layer").String()
	bad, _ := json.Marshal(c)
	badDigest := pushRawBlob(t, r, "diff", bad)
	mb = bytes.Replace(mb, []byte(m.Config.Digest), []byte(badDigest), 1)
	mb = bytes.Replace(mb, []byte(fmt.Sprintf(`"size":%d`, m.Config.Size)), []byte(fmt.Sprintf(`"size":%d`, len(bad))), 1)
	putRawManifest(t, r, "diff", "bad", mt, mb)

	s := newEnv(t, r.Addr).start()
	var pullErr error
	fast, general := pathsTaken(func() { _, pullErr = s.Pull(ctxT(t), r.Ref("diff:bad"), nil, nil) })
	wantKind(t, pullErr, errdefs.ErrInvalidArgument, "DiffID")
	if fast != 0 || general != 0 {
		t.Errorf("a failed pull counted as done: %d direct, %d copy.Image", fast, general)
	}
	storeEmpty(t, s)
}

func pushRawBlob(t *testing.T, r *registry.Registry, repo string, b []byte) string {
	t.Helper()
	d := digest.FromBytes(b).String()
	resp := doReq(t, r, http.MethodPost, fmt.Sprintf("%s/v2/%s/blobs/uploads/", r.URL, repo), "", nil)
	loc, err := resp.Location()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %s, %v", resp.Status, err)
	}
	q := loc.Query()
	q.Set("digest", d)
	loc.RawQuery = q.Encode()
	if resp := doReq(t, r, http.MethodPut, loc.String(), "", b); resp.StatusCode != http.StatusCreated {
		t.Fatalf("push blob: %s", resp.Status)
	}
	return d
}

func putRawManifest(t *testing.T, r *registry.Registry, repo, tag, mt string, b []byte) {
	t.Helper()
	resp := doReq(t, r, http.MethodPut, fmt.Sprintf("%s/v2/%s/manifests/%s", r.URL, repo, tag), mt, b)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put manifest: %s", resp.Status)
	}
}

func doReq(t *testing.T, r *registry.Registry, method, url, ct string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := r.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A corrupted top layer fails the direct pull (no fallback to copy.Image)
// and leaves no layer behind, whether or not the layers below it were
// stored by then.
func TestFastPullCorruptLayerLeavesNothing(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "corrupt:v1", registry.Image{
		ExtraLayers: [][]registry.TarEntry{{{Name: "a", Data: []byte("a")}}},
		RawLayers:   [][]byte{rawTar(t, "b", 8192)},
	})
	px := registry.StartProxy(t, r, registry.ProxyOptions{CorruptDigests: []string{p.LayerDigests[len(p.LayerDigests)-1]}})
	s := newEnv(t, px.Addr).start()
	var err error
	fast, general := pathsTaken(func() { _, err = s.Pull(ctxT(t), px.Addr+"/corrupt:v1", nil, nil) })
	wantKind(t, err, errdefs.ErrInvalidArgument, "digest mismatch")
	if fast != 0 || general != 0 {
		t.Errorf("%d direct, %d copy.Image; want a failed direct pull", fast, general)
	}
	storeEmpty(t, s)
}

func rawTar(t *testing.T, name string, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeProgress sums what the metrics hook is told.
type fakeProgress struct {
	mu      sync.Mutex
	bytes   int64
	done    int
	skipped int
}

func (f *fakeProgress) PullBytes(_ string, _ int64, n uint64, done bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bytes += int64(n)
	if done {
		f.done++
	}
}

func (f *fakeProgress) PullSkipped(string, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.skipped++
}

// The direct path reports every blob's bytes to the metrics hook, and
// the layers it reuses as skipped, as copy.Image does.
func TestFastPullReportsProgress(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "prog:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{{{Name: "x", Data: []byte("x")}}}})
	s := newEnv(t, r.Addr).start()
	f := &fakeProgress{}
	s.SetProgress(f)
	if fast, _ := pathsTaken(func() { mustPull(t, s, r.Ref("prog:v1"), nil) }); fast != 1 {
		t.Fatal("the direct path was not taken")
	}
	if f.bytes != p.Size || f.done != len(p.LayerDigests)+1 {
		t.Errorf("hook told %d bytes in %d blobs, want %d in %d", f.bytes, f.done, p.Size, len(p.LayerDigests)+1)
	}
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: r.Ref("prog:v1")}, nil); err != nil {
		t.Fatal(err)
	}
	r.Push(t, "prog:v2", registry.Image{})
	mustPull(t, s, r.Ref("prog:v2"), nil)
	mustPull(t, s, r.Ref("prog:v1"), nil)
	if f.skipped != 1 {
		t.Errorf("%d layers reported reused, want 1 (the base)", f.skipped)
	}
}

// An image the direct path does not take (here a layer annotated with a
// TOC, which copy.Image may pull partially) is pulled by copy.Image.
func TestFastPullFallsBack(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "toc:v1", registry.Image{})
	mb, mt, _, err := r.GetManifest("toc", "v1")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	layers := m["layers"].([]any)
	layers[0].(map[string]any)["annotations"] = map[string]string{tocAnnotations[0]: digest.FromString("toc").String()}
	mb, _ = json.Marshal(m)
	putRawManifest(t, r, "toc", "annotated", mt, mb)
	s := newEnv(t, r.Addr).start()
	if fast, general := pathsTaken(func() { mustPull(t, s, r.Ref("toc:annotated"), nil) }); fast != 0 || general != 1 {
		t.Errorf("%d direct, %d copy.Image; want copy.Image", fast, general)
	}
}
