package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/containers/storage"
	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"

	"github.com/crio-runtime/crio/test/registry"
)

// BenchmarkPullPaths pulls a busybox image of two layers (small), and a 5-layer ~50 MB image (busybox plus four 12.5
// MB layers, incompressible or text that gzips about 3:1) from a loopback
// registry into an empty store, by the direct path and by copy.Image.
// MB/s counts blob bytes. The floors it reports (ms, measured once, one
// after another): registry = GET every blob; inflate = gunzip + sha256 of
// every layer in memory (the direct path's one decompression); apply =
// store.PutLayer of every uncompressed layer from memory with known
// digests (storage's untar, tar-split and metadata writes, fsyncs).
//
//	go test -tags "containers_image_openpgp exclude_graphdriver_btrfs" -run x -bench PullPaths ./internal/image/
func BenchmarkPullPaths(b *testing.B) {
	r := registry.Start(b, registry.Options{})
	images := map[string]registry.Image{
		"random": {PadLayers: 4, PadLayerSize: 12_500_000, Seed: 5},
		"text":   {ExtraLayers: textLayers(4, 12_500_000)},
		"small":  {ExtraLayers: [][]registry.TarEntry{{{Name: "etc/motd", Data: []byte("hi")}}}},
	}
	for _, kind := range []string{"small", "random", "text"} {
		p := r.PushImage(b, "bench/"+kind+":v1", images[kind])
		floors := pullFloors(b, r, "bench/"+kind, p)
		for _, path := range []string{"direct", "copy"} {
			b.Run(kind+"/"+path, func(b *testing.B) {
				s := newEnv(b, r.Addr).start()
				s.noFastPull = path == "copy"
				ref := r.Ref("bench/" + kind + ":v1")
				b.SetBytes(p.Size)
				b.ResetTimer()
				pullRemoveLoop(b, s, ref, true) // the pulls alone
				for k, v := range floors {
					b.ReportMetric(v, k+"-ms")
				}
			})
		}
		if kind == "small" {
			continue
		}
		// The same pull over a 100 MB/s link (800 Mbit/s, all blobs
		// sharing it): link-ms is the GET of every blob through it, the
		// time a pull at the registry's speed would take.
		px := registry.StartProxy(b, r, registry.ProxyOptions{LinkBytesPerSecond: 100e6})
		link := linkFloor(b, px, "bench/"+kind, p)
		b.Run(kind+"/direct-100MBps", func(b *testing.B) {
			s := newEnv(b, px.Addr).start()
			b.SetBytes(p.Size)
			b.ResetTimer()
			pullRemoveLoop(b, s, px.Addr+"/bench/"+kind+":v1", true)
			b.ReportMetric(link, "link-ms")
		})
	}
}

// linkFloor is how long GETs of every blob of p through px take, in ms.
func linkFloor(b *testing.B, px *registry.Proxy, repo string, p *registry.Pushed) float64 {
	b.Helper()
	start := time.Now()
	for _, d := range append([]string{p.ConfigDigest}, p.LayerDigests...) {
		resp, err := http.Get("http://" + px.Addr + "/v2/" + repo + "/blobs/" + d)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET blob %s: %d %v", d, resp.StatusCode, err)
		}
	}
	return float64(time.Since(start).Microseconds()) / 1000
}

// textLayers are n layers of one file each of size bytes of word soup.
func textLayers(n, size int) [][]registry.TarEntry {
	words := strings.Fields("the quick brown fox jumps over lazy dog container image layer pull registry storage " +
		"kubernetes runtime digest manifest config overlay mount namespace cgroup process signal")
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]registry.TarEntry, n)
	for i := range out {
		var buf bytes.Buffer
		for buf.Len() < size {
			buf.WriteString(words[rng.IntN(len(words))])
			buf.WriteByte(" \n"[rng.IntN(8)/7])
			if rng.IntN(16) == 0 {
				fmt.Fprintf(&buf, "%d ", rng.Uint32())
			}
		}
		out[i] = []registry.TarEntry{{Name: fmt.Sprintf("data/%d.txt", i), Data: buf.Bytes()[:size]}}
	}
	return out
}

// pullFloors measures the floors described at BenchmarkPullPaths.
func pullFloors(b *testing.B, r *registry.Registry, repo string, p *registry.Pushed) map[string]float64 {
	b.Helper()
	start := time.Now()
	blobs := make([][]byte, len(p.LayerDigests))
	for i, d := range p.LayerDigests {
		blob, err := r.GetBlob(repo, d)
		if err != nil {
			b.Fatal(err)
		}
		blobs[i] = blob
	}
	if _, err := r.GetBlob(repo, p.ConfigDigest); err != nil {
		b.Fatal(err)
	}
	fetch := time.Since(start)

	start = time.Now()
	diffIDs := make([]digest.Digest, len(blobs))
	tars := make([][]byte, len(blobs))
	for i, blob := range blobs {
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			b.Fatal(err)
		}
		d := digest.Canonical.Digester()
		var buf bytes.Buffer
		if _, err := io.Copy(io.MultiWriter(d.Hash(), &buf), zr); err != nil {
			b.Fatal(err)
		}
		diffIDs[i], tars[i] = d.Digest(), buf.Bytes()
	}
	inflate := time.Since(start)

	s := newEnv(b, r.Addr).start()
	start = time.Now()
	parent := ""
	for i, id := range chainIDs(diffIDs) {
		size := int64(len(blobs[i]))
		opts := &storage.LayerOptions{OriginalDigest: digest.Digest(p.LayerDigests[i]), OriginalSize: &size, UncompressedDigest: diffIDs[i]}
		if _, _, err := s.Store().PutLayer(id, parent, nil, "", false, opts, bytes.NewReader(tars[i])); err != nil {
			b.Fatal(err)
		}
		parent = id
	}
	apply := time.Since(start)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	floors := map[string]float64{"registry": ms(fetch), "inflate": ms(inflate), "apply": ms(apply)}
	out, _ := json.Marshal(floors)
	b.Logf("%s: %d blob bytes, floors %s", repo, p.Size, out)
	return floors
}
