package image

import (
	"testing"

	"github.com/crio-runtime/crio/test/registry"
)

// Status and List answers are cached, yet changes made to the store behind
// this service's back (as podman would) show at once: storage's last-write
// token in images.lock moves with every write.
func TestCachedStatusSeesOutsideChanges(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "views:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	ref := r.Ref("views:v1")
	id := mustPull(t, s, ref, nil)
	const other = "example.com/outside/tool:v9"
	for range 2 { // fill the cache
		if img := mustStatus(t, s, ref); img == nil {
			t.Fatal("pulled image not found")
		}
		if img := mustStatus(t, s, other); img != nil {
			t.Fatalf("status of an absent name = %v", img)
		}
	}
	if list, err := s.List(ctxT(t), nil); err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}

	// Another tool tags the image.
	if err := s.Store().AddNames(id, []string{other}); err != nil {
		t.Fatal(err)
	}
	img := mustStatus(t, s, other)
	if img == nil || img.Id != id || !contains(img.RepoTags, other) {
		t.Fatalf("status after an outside tag = %v", img)
	}
	list, err := s.List(ctxT(t), nil)
	if err != nil || len(list) != 1 || !contains(list[0].RepoTags, other) {
		t.Fatalf("list after an outside tag = %v, %v", list, err)
	}

	// Another tool deletes it.
	if _, err := s.Store().DeleteImage(id, true); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{ref, other, id} {
		if img := mustStatus(t, s, q); img != nil {
			t.Fatalf("status %s after an outside delete = %v", q, img)
		}
	}
	if list, err := s.List(ctxT(t), nil); err != nil || len(list) != 0 {
		t.Fatalf("list after an outside delete = %v, %v", list, err)
	}
	if _, err := s.ForContainer(ctxT(t), ref); err == nil {
		t.Fatal("ForContainer found an image deleted outside")
	}
}
