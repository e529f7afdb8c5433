package image

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/containers/storage"
)

// pullGroup runs one pull per key; later identical requests wait for it.
// The shared pull runs detached from any one caller and is cancelled only
// when every caller has given up.
type pullGroup struct {
	mu    sync.Mutex
	calls map[string]*pullCall
}

type pullCall struct {
	done    chan struct{}
	id      string
	err     error
	waiters int
	cancel  context.CancelCauseFunc
}

func (g *pullGroup) init() { g.calls = map[string]*pullCall{} }

// cancelWait bounds how long a giving-up caller waits for the pull to wind
// down (so its partial layers are gone when the caller gets its error).
const cancelWait = 30 * time.Second

func (g *pullGroup) do(ctx context.Context, key string, fn func(context.Context) (string, error)) (string, error) {
	g.mu.Lock()
	c, ok := g.calls[key]
	if !ok {
		pctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		c = &pullCall{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			c.id, c.err = fn(pctx)
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			cancel(nil)
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.id, c.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	c.waiters--
	last := c.waiters == 0
	if last {
		c.cancel(context.Cause(ctx))
		if g.calls[key] == c {
			delete(g.calls, key) // a new request starts afresh
		}
	}
	g.mu.Unlock()
	if last {
		select {
		case <-c.done:
		case <-time.After(cancelWait):
		}
	}
	return "", contextError(ctx.Err())
}

// layerJanitor deletes layers that failed pulls committed but no image
// uses. It only sweeps when no pull is running, so it never races a pull
// that is about to create its image on top of fresh layers.
type layerJanitor struct {
	mu     sync.Mutex
	store  storage.Store
	log    *slog.Logger
	active int
	before map[string]bool
	dirty  bool
}

func (j *layerJanitor) begin() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.active == 0 {
		j.before = map[string]bool{}
		j.dirty = false
		if layers, err := j.store.Layers(); err == nil {
			for _, l := range layers {
				j.before[l.ID] = true
			}
		}
	}
	j.active++
}

func (j *layerJanitor) end(failed bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.dirty = j.dirty || failed
	j.active--
	if j.active == 0 && j.dirty {
		j.sweep()
		j.dirty = false
	}
}

func (j *layerJanitor) sweep() {
	layers, err := j.store.Layers()
	if err != nil {
		j.log.Warn("list layers after failed pull", "err", err)
		return
	}
	used, err := usedLayers(j.store, layers)
	if err != nil {
		j.log.Warn("find used layers after failed pull", "err", err)
		return
	}
	byID := make(map[string]*storage.Layer, len(layers))
	for i := range layers {
		byID[layers[i].ID] = &layers[i]
	}
	var orphans []string
	for _, l := range layers {
		if !j.before[l.ID] && !used[l.ID] {
			orphans = append(orphans, l.ID)
		}
	}
	// Children before parents.
	sort.Slice(orphans, func(a, b int) bool { return depth(byID, orphans[a]) > depth(byID, orphans[b]) })
	for _, id := range orphans {
		if err := j.store.DeleteLayer(id); err != nil {
			j.log.Warn("delete layer left by failed pull", "layer", id, "err", err)
		}
	}
}

// usedLayers is every layer an image or container depends on.
func usedLayers(store storage.Store, layers []storage.Layer) (map[string]bool, error) {
	parent := make(map[string]string, len(layers))
	for _, l := range layers {
		parent[l.ID] = l.Parent
	}
	used := map[string]bool{}
	mark := func(id string) {
		for id != "" && !used[id] {
			used[id] = true
			id = parent[id]
		}
	}
	images, err := store.Images()
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		mark(img.TopLayer)
		for _, m := range img.MappedTopLayers {
			mark(m)
		}
	}
	containers, err := store.Containers()
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		mark(c.LayerID)
	}
	return used, nil
}

func depth(byID map[string]*storage.Layer, id string) int {
	d := 0
	for l := byID[id]; l != nil && l.Parent != ""; l = byID[l.Parent] {
		d++
	}
	return d
}
