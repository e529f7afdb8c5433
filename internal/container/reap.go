package container

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/crio-runtime/crio/internal/fault"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/oci"
)

// RemoveContainer answers once the container's record is deleted; the
// runtime's delete (a runc exec, ~20 ms) and the rootfs deletion (storage
// unmount and layer delete, ~60 ms under load) run in the background. A
// daemon that dies before they finish leaves a runtime container or a
// bundle no record owns, which SweepRuntime deletes at start; the bundle
// goes last so a leftover layer always has one. Image removal and shutdown
// wait for the reaps they depend on.
//
// A pod's teardown is reaped the same way: StopPodSandbox answers once the
// infra process is dead (its exit recorded) and leaves the infra's runtime
// delete to a reap (ReapInfra); RemovePodSandbox answers once the pod's
// records are deleted and leaves the pod's own files to a reap (ReapPod)
// that first waits for the reaps of its containers and infra.

// reapDelay is how long a reap waits before it starts, unless something
// waits for it (an image removal, the start-time sweep, shutdown): the
// deletes then run after the requests that follow a removal (the next
// pod's run and create, ~0.3 s), not beside them on their CPUs, storage
// locks and mount table. The deletes cost the same; they just stop taking
// time from the critical path of the next pod.
const reapDelay = time.Second

// reaps tracks container deletions finishing in the background.
type reaps struct {
	mu       sync.Mutex
	inflight []*reap
	wg       sync.WaitGroup
	// storage runs the reaps' storage work one at a time: two concurrent
	// readers of containers/storage's container store race on its lock
	// file's state (lockfile.AssertLocked reads what a second RLock writes;
	// seen by make race once reaps ran in parallel). The store serialises
	// layer deletion anyway, so nothing is lost.
	storage sync.Mutex
	delay   time.Duration // reapDelay when 0 (tests set it)
}

type reap struct {
	pod    string
	images []string // the container's image and its image-volume mounts
	before []*reap  // reaps that must finish first
	hurry  chan struct{}
	once   sync.Once
	done   chan struct{}
}

// now ends rp's delay, and that of the reaps it waits for.
func (rp *reap) now() {
	rp.once.Do(func() { close(rp.hurry) })
	for _, b := range rp.before {
		b.now()
	}
}

// start runs fn in the background as the reap of a container of pod that
// holds images.
func (r *reaps) start(pod string, images []string, fn func()) {
	r.startAfter(pod, images, false, fn)
}

// startAfter is start; with afterPod, fn runs only once the reaps of pod
// already in flight are done.
func (r *reaps) startAfter(pod string, images []string, afterPod bool, fn func()) {
	rp := &reap{pod: pod, images: images, hurry: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	for _, x := range r.inflight {
		if afterPod && x.pod == pod {
			rp.before = append(rp.before, x)
		}
	}
	r.inflight = append(r.inflight, rp)
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		d := r.delay
		if d == 0 {
			d = reapDelay
		}
		delay := time.NewTimer(d)
		select {
		case <-delay.C:
		case <-rp.hurry:
		}
		delay.Stop()
		for _, b := range rp.before {
			<-b.done
		}
		fn()
		r.mu.Lock()
		r.inflight = slices.DeleteFunc(r.inflight, func(x *reap) bool { return x == rp })
		r.mu.Unlock()
		close(rp.done)
	}()
}

// wait runs the reaps in flight that match now and blocks until they are
// done.
func (r *reaps) wait(match func(*reap) bool) {
	r.mu.Lock()
	var matched []*reap
	for _, rp := range r.inflight {
		if match(rp) {
			matched = append(matched, rp)
		}
	}
	r.mu.Unlock()
	for _, rp := range matched {
		rp.now()
	}
	for _, rp := range matched {
		<-rp.done
	}
}

func (r *reaps) waitAll() { r.wait(func(*reap) bool { return true }) }

// anyImage in a reap's images stands for an image not known by ID: an
// infra's pause_image rootfs.
const anyImage = "*"

func (r *reaps) waitImage(image string) {
	r.wait(func(rp *reap) bool { return slices.Contains(rp.images, image) || slices.Contains(rp.images, anyImage) })
}

// reapLater deletes what the runtime and storage keep of removed container
// c, in the background.
func (m *Manager) reapLater(ctx context.Context, rt ociRuntime, c *Container) {
	log := logging.From(ctx)
	images := append([]string{c.ImageID}, c.ImageMounts...)
	m.reaps.start(c.PodID, images, func() {
		fault.Point("container-reap")
		// Not the request's context: it ends with the answer.
		if err := rt.Delete(context.WithoutCancel(ctx), c.ID); err != nil {
			// The bundle stays, so the next start's sweep retries.
			log.Error("delete removed container from the runtime", "container", c.ID, "error", err)
			return
		}
		m.reaps.storage.Lock()
		err := m.deleteRootfs(c.ID)
		m.unmountImages(c)
		m.reaps.storage.Unlock()
		if err != nil {
			// The bundle stays, so the next start's sweep retries.
			log.Error("delete removed container's writable layer", "container", c.ID, "error", err)
			return
		}
		for _, p := range []string{c.Bundle + "-volumes", c.Bundle} {
			if err := os.RemoveAll(p); err != nil {
				log.Error("remove container bundle", "container", c.ID, "error", err)
			}
		}
	})
}

// ReapPod runs cleanup (the pod's files) in the background once the reaps
// of the pod's containers and infra are done: the pod's record is deleted
// by then, so a daemon that dies first leaves only what SweepRuntime and
// the pod manager's start-time sweep remove. Shutdown waits for it.
func (m *Manager) ReapPod(ctx context.Context, podID string, cleanup func() error) {
	log := logging.From(ctx)
	m.reaps.startAfter(podID, nil, true, func() {
		fault.Point("pod-reap")
		if err := cleanup(); err != nil {
			log.Error("remove pod files", "pod", podID, "error", err)
		}
	})
}

// deleteInfra deletes what the runtime and the daemon keep of infra id;
// the bundle goes last, so a leftover always has one for the sweep.
func (m *Manager) deleteInfra(ctx context.Context, rt *oci.Runtime, id string) error {
	if err := rt.Delete(ctx, id); err != nil {
		return err
	}
	m.reaps.storage.Lock()
	m.deleteRootfs(id) // the pause_image rootfs, if one was made
	m.reaps.storage.Unlock()
	for _, p := range []string{filepath.Join(m.opts.AttachSocketDir, id), filepath.Join(m.opts.ExitsDir, id), filepath.Join(m.opts.RunDir, id)} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}
