package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/registry"
)

// blockReaps holds every background reap until the returned func is called.
func blockReaps(t *testing.T) (release func()) {
	gate := make(chan struct{})
	reapHook = func(string) { <-gate }
	var once bool
	release = func() {
		if !once {
			once = true
			close(gate)
		}
	}
	t.Cleanup(func() { release(); reapHook = nil })
	return release
}

// delayReaps makes background reaps wait d unless something waits for them.
func delayReaps(t *testing.T, d time.Duration) {
	old := reapDelay
	reapDelay = d
	t.Cleanup(func() { reapDelay = old })
}

func layerCount(t *testing.T, s *Service) int {
	t.Helper()
	layers, err := s.Store().Layers()
	if err != nil {
		t.Fatal(err)
	}
	return len(layers)
}

// Remove answers with the image gone from List and Status while its layers
// are still being deleted; a pull of the same image under another name
// (a pull of the removed name holds the deletion instead, see
// TestPullAfterRemoveReusesTheImage) waits for that deletion and keeps
// its own layers.
func TestRemoveReapsInBackground(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "reap:v1", registry.Image{})
	r.Push(t, "reap:v2", registry.Image{})
	s := newEnv(t, r.Addr).start()
	ref, other := r.Ref("reap:v1"), r.Ref("reap:v2")
	id := mustPull(t, s, ref, nil)
	release := blockReaps(t)
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: ref}, usedBy("")); err != nil {
		t.Fatal(err)
	}
	if layerCount(t, s) == 0 {
		t.Fatal("Remove deleted the layers before answering")
	}
	for _, q := range []string{ref, id, id[:12]} {
		if img := mustStatus(t, s, q); img != nil {
			t.Fatalf("status %s after remove = %v", q, img)
		}
	}
	if list, err := s.List(ctxT(t), nil); err != nil || len(list) != 0 {
		t.Fatalf("list after remove = %v, %v", list, err)
	}
	if _, err := s.ForContainer(ctxT(t), id); err == nil {
		t.Fatal("a container could be created from a removed image")
	}
	if _, err := os.Stat(filepath.Join(s.reaps.dir, id)); err != nil {
		t.Fatalf("no crash marker while the reap is pending: %v", err)
	}

	pulled := make(chan error, 1)
	go func() { _, err := s.Pull(ctxT(t), other, nil, nil); pulled <- err }()
	select {
	case err := <-pulled:
		t.Fatalf("pull finished (%v) while the removed image's layers were still being deleted", err)
	case <-time.After(time.Second):
	}
	release()
	if err := <-pulled; err != nil {
		t.Fatalf("pull after remove: %v", err)
	}
	s.waitReapsDone()
	if img := mustStatus(t, s, other); img == nil || img.Id != id {
		t.Fatalf("image pulled again after remove: %v", img)
	}
	if layerCount(t, s) == 0 {
		t.Fatal("the re-pulled image has no layers")
	}
	if _, err := os.Stat(filepath.Join(s.reaps.dir, id)); !os.IsNotExist(err) {
		t.Fatalf("crash marker left after the reap: %v", err)
	}
}

// A daemon killed mid-reap (marker written, image still stored) finishes
// the deletion at the next start.
func TestRemoveInterruptedIsSweptAtStart(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "sweep:v1", registry.Image{})
	e := newEnv(t, r.Addr)
	s := e.start()
	id := mustPull(t, s, r.Ref("sweep:v1"), nil)
	if err := os.WriteFile(filepath.Join(s.reaps.dir, id), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	s2 := e.start()
	if img := mustStatus(t, s2, id); img != nil {
		t.Fatalf("image interrupted mid-remove is back after restart: %v", img)
	}
	storeEmpty(t, s2)
	if _, err := os.Stat(filepath.Join(s2.reaps.dir, id)); !os.IsNotExist(err) {
		t.Fatalf("marker left after the sweep: %v", err)
	}
}

// Shutdown waits for the reaps in flight.
func TestShutdownWaitsForReaps(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "down:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	id := mustPull(t, s, r.Ref("down:v1"), nil)
	release := blockReaps(t)
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: id}, nil); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(200 * time.Millisecond); release() }()
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.reaps.dir, id)); !os.IsNotExist(err) {
		t.Fatalf("Shutdown returned before the reap finished (marker: %v)", err)
	}
}

// A removal's deletion waits out its delay (the image hidden meanwhile)
// unless something needs it done: a pull of the same image, FsInfo,
// Shutdown start it at once.
func TestReapWaitsOutItsDelayUnlessWaitedFor(t *testing.T) {
	delayReaps(t, time.Hour)
	r := registry.Start(t, registry.Options{})
	r.Push(t, "late:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	ref := r.Ref("late:v1")
	mustPull(t, s, ref, nil)
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: ref}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if layerCount(t, s) == 0 {
		t.Fatal("the deletion did not wait out its delay")
	}
	if img := mustStatus(t, s, ref); img != nil {
		t.Fatalf("status during the delay = %v, want hidden", img)
	}
	if _, err := s.Pull(ctxT(t), ref, nil, nil); err != nil { // hurries the reap
		t.Fatalf("pull after remove: %v", err)
	}
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: ref}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FsInfo(ctxT(t)); err != nil { // hurries it too
		t.Fatal(err)
	}
	if n := layerCount(t, s); n != 0 {
		t.Fatalf("%d layers left after FsInfo, want the removal done", n)
	}
}

// A removal answered while a pull of the same image is under way (its
// deletion still waiting out the delay) is called off when the pull stores
// the image: the pull is the newer request, and its image stays, listed.
func TestPullInFlightCallsOffTheRemoval(t *testing.T) {
	delayReaps(t, time.Hour)
	r := registry.Start(t, registry.Options{})
	r.Push(t, "racing:v1", registry.Image{})
	px := registry.StartProxy(t, r, registry.ProxyOptions{BlobDelay: 500 * time.Millisecond})
	s := newEnv(t, px.Addr).start()
	ref := px.Addr + "/racing:v1"
	id := mustPull(t, s, ref, nil)
	pulled := make(chan error, 1)
	go func() { _, err := s.Pull(ctxT(t), ref, nil, nil); pulled <- err }()
	time.Sleep(150 * time.Millisecond) // the pull waits for its config blob
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: ref}, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-pulled; err != nil {
		t.Fatalf("pull beside a removal: %v", err)
	}
	if img := mustStatus(t, s, ref); img == nil || img.Id != id {
		t.Fatalf("status after the pull = %v, want the pulled image", img)
	}
	s.waitReapsDone()
	if img := mustStatus(t, s, ref); img == nil || img.Id != id {
		t.Fatalf("status once the removal is done = %v, want the pulled image", img)
	}
	if list, err := s.List(ctxT(t), nil); err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if _, err := os.Stat(filepath.Join(s.reaps.dir, id)); !os.IsNotExist(err) {
		t.Fatalf("crash marker of the called-off removal: %v", err)
	}
}

// A removal whose deletion runs while a pull of another image downloads
// (the pull found the shared base layer stored, the deletion takes it) does
// not fail the pull: it runs once more and stores the whole image.
func TestPullRetriesAfterADeletionBesideIt(t *testing.T) {
	delayReaps(t, 10*time.Millisecond)
	r := registry.Start(t, registry.Options{})
	r.Push(t, "first:v1", registry.Image{})
	r.Push(t, "second:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{{{Name: "etc/second", Data: []byte("2")}}}})
	px := registry.StartProxy(t, r, registry.ProxyOptions{BlobDelay: 400 * time.Millisecond})
	s := newEnv(t, px.Addr).start()
	first, second := px.Addr+"/first:v1", px.Addr+"/second:v1"
	mustPull(t, s, first, nil)
	deletions := s.reaps.deletions.Load()
	pulled := make(chan error, 1)
	go func() { _, err := s.Pull(ctxT(t), second, nil, nil); pulled <- err }()
	time.Sleep(600 * time.Millisecond) // the pull found the base stored and waits for its own layer
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: first}, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-pulled; err != nil {
		t.Fatalf("pull beside a deletion: %v", err)
	}
	if s.reaps.deletions.Load() == deletions {
		t.Fatal("the removal never deleted: nothing raced the pull")
	}
	s.waitReapsDone()
	if img := mustStatus(t, s, second); img == nil {
		t.Fatal("the pulled image is gone")
	}
	if img := mustStatus(t, s, first); img != nil {
		t.Fatalf("the removed image is back: %v", img)
	}
	if n := layerCount(t, s); n != 2 {
		t.Fatalf("%d layers stored, want the second image's 2", n)
	}
}

func blobGets(px *registry.Proxy) int {
	n := 0
	for _, c := range px.BlobGets() {
		n += c
	}
	return n
}

// A pull of a name whose image was removed moments ago (its deletion still
// waiting out its delay) that finds the same image in the registry keeps
// the stored one instead of downloading it again; the other names the
// removal took stay gone.
func TestPullAfterRemoveReusesTheImage(t *testing.T) {
	delayReaps(t, time.Hour)
	r := registry.Start(t, registry.Options{})
	r.Push(t, "again:v1", registry.Image{})
	r.Push(t, "again:v2", registry.Image{})
	px := registry.StartProxy(t, r, registry.ProxyOptions{})
	s := newEnv(t, px.Addr).start()
	v1, v2 := px.Addr+"/again:v1", px.Addr+"/again:v2"
	id := mustPull(t, s, v1, nil)
	if id2 := mustPull(t, s, v2, nil); id2 != id {
		t.Fatalf("the two tags are different images: %s, %s", id, id2)
	}
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: v1}, nil); err != nil {
		t.Fatal(err)
	}
	gets := blobGets(px)
	if again := mustPull(t, s, v1, nil); again != id {
		t.Fatalf("pulled %s again, want %s", again, id)
	}
	if n := blobGets(px) - gets; n > 1 { // at most the config
		t.Fatalf("the pull downloaded %d blobs of an image still stored", n)
	}
	s.waitReapsDone()
	if img := mustStatus(t, s, v1); img == nil || img.Id != id {
		t.Fatalf("status of the pulled name = %v", img)
	}
	if img := mustStatus(t, s, v2); img != nil {
		t.Fatalf("the removed name is back: %v", img)
	}
	if list, err := s.List(ctxT(t), nil); err != nil || len(list) != 1 || len(list[0].RepoTags) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
}

// When the registry has a new image under the name, the pull stores it
// and the removed image is deleted as asked, except the layers they share.
func TestPullAfterRemoveOfAMovedTag(t *testing.T) {
	delayReaps(t, 200*time.Millisecond)
	r := registry.Start(t, registry.Options{})
	r.Push(t, "moved:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	ref := r.Ref("moved:v1")
	old := mustPull(t, s, ref, nil)
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: ref}, nil); err != nil {
		t.Fatal(err)
	}
	r.Push(t, "moved:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{{{Name: "etc/new", Data: []byte("n")}}}})
	id := mustPull(t, s, ref, nil)
	if id == old {
		t.Fatal("pulled the old image")
	}
	s.waitReapsDone()
	if _, err := s.Store().Image(old); err == nil {
		t.Fatal("the removed image is still stored")
	}
	if img := mustStatus(t, s, ref); img == nil || img.Id != id {
		t.Fatalf("status = %v, want %s", img, id)
	}
	if n := layerCount(t, s); n != 2 {
		t.Fatalf("%d layers stored, want the new image's 2", n)
	}
}

// A removal held by a pull of its name waits for that pull, however long
// its download takes; ImageFsInfo does not wait with it.
func TestFsInfoDoesNotWaitForAHeldRemoval(t *testing.T) {
	delayReaps(t, time.Hour)
	r := registry.Start(t, registry.Options{})
	r.Push(t, "held:v1", registry.Image{})
	px := registry.StartProxy(t, r, registry.ProxyOptions{StallBlobsAfter: 1})
	s := newEnv(t, r.Addr, px.Addr).start()
	id := mustPull(t, s, r.Ref("held:v1"), nil)
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: r.Ref("held:v1")}, nil); err != nil {
		t.Fatal(err)
	}
	// The same repository through the stalling proxy: another name, so hold
	// the removal by its name through the proxy's too.
	if err := s.Store().AddNames(id, []string{px.Addr + "/held:v1"}); err != nil {
		t.Fatal(err)
	}
	s.reaps.mu.Lock()
	s.reaps.hiding[id].names = append(s.reaps.hiding[id].names, px.Addr+"/held:v1")
	s.reaps.mu.Unlock()
	ctx, cancel := context.WithCancel(ctxT(t))
	pulled := make(chan error, 1)
	go func() { _, err := s.Pull(ctx, px.Addr+"/held:v1", nil, nil); pulled <- err }()
	for deadline := time.Now().Add(10 * time.Second); len(px.BlobGets()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pull never asked for a blob")
		}
	}
	info := make(chan error, 1)
	go func() { _, err := s.FsInfo(ctxT(t)); info <- err }()
	select {
	case err := <-info:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("ImageFsInfo waited for a stalled pull")
	}
	cancel()
	if err := <-pulled; err == nil {
		t.Fatal("a stalled pull succeeded")
	}
	s.waitReapsDone()
	if _, err := s.Store().Image(id); err == nil {
		t.Fatal("the removal was lost when the pull holding it failed")
	}
}
