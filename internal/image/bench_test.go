package image

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/containers/storage"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/registry"
)

// BenchmarkPull5Layer50MB pulls busybox plus four 12.5 MB incompressible
// layers from a loopback registry into an empty store per iteration.
func BenchmarkPull5Layer50MB(b *testing.B) {
	r := registry.Start(b, registry.Options{})
	p := r.PushImage(b, "bench/big:v1", registry.Image{PadLayers: 4, PadLayerSize: 12_500_000, Seed: 5})
	s := newEnv(b, r.Addr).start()
	ref := r.Ref("bench/big:v1")
	b.SetBytes(p.Size)
	b.ResetTimer()
	pullRemoveLoop(b, s, ref, false)
	b.ReportMetric(float64(len(p.LayerDigests)), "layers")
}

// BenchmarkStatusList200 measures ImageStatus and ListImages on a store of
// 200 images (one pulled, 199 cloned records sharing its layers).
func BenchmarkStatusList200(b *testing.B) {
	r := registry.Start(b, registry.Options{})
	r.Push(b, "bench/small:v1", registry.Image{User: "1000"})
	s := newEnv(b, r.Addr).start()
	id := mustPull(b, s, r.Ref("bench/small:v1"), nil)
	cloneImages(b, s.Store(), id, 199)
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("example.com/bench/img%d:v1", i)
	}
	names[0] = r.Ref("bench/small:v1")
	b.Run("Status", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if img := mustStatus(b, s, names[rand.IntN(len(names))]); img == nil {
				b.Fatal("image not found")
			}
		}
	})
	b.Run("List", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			list, err := s.List(ctxT(b), nil)
			if err != nil || len(list) != 200 {
				b.Fatalf("list: %d, %v", len(list), err)
			}
		}
	})
	b.Run("ListCold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s.infoMu.Lock()
			s.info = map[string]*imageInfo{}
			s.infoMu.Unlock()
			if _, err := s.List(ctxT(b), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FsInfo", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.FsInfo(ctxT(b)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func cloneImages(b *testing.B, store storage.Store, id string, n int) {
	b.Helper()
	img, err := store.Image(id)
	if err != nil {
		b.Fatal(err)
	}
	var opts storage.ImageOptions
	for _, key := range img.BigDataNames {
		data, err := store.ImageBigData(id, key)
		if err != nil {
			b.Fatal(err)
		}
		opts.BigData = append(opts.BigData, storage.ImageBigDataOption{Key: key, Data: data})
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("example.com/bench/img%d:v1", i)
		if _, err := store.CreateImage(fmt.Sprintf("%064x", i), []string{name}, img.TopLayer, "", &opts); err != nil {
			b.Fatal(err)
		}
	}
}

// pullRemoveLoop times b.N pulls of ref into s, each removed (untimed)
// before the next, so every pull starts from an empty store. With
// deletedFirst the removal's deletion also finishes untimed; without, it
// runs beside the next pull, as in critest's loop.
func pullRemoveLoop(b *testing.B, s *Service, ref string, deletedFirst bool) {
	b.Helper()
	for i := 0; i < b.N; i++ {
		mustPull(b, s, ref, nil)
		b.StopTimer()
		if err := s.Remove(ctxT(b), &runtimeapi.ImageSpec{Image: ref}, nil); err != nil {
			b.Fatal(err)
		}
		if deletedFirst {
			s.waitReapsDone()
		}
		b.StartTimer()
	}
}
