package network

import (
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/fsnotify/fsnotify"
)

// confCache keeps the loaded network config until the conf dir changes, so
// a pod start does not re-read and re-parse the dir. An fsnotify watch on
// the dir drops the cache; while the dir does not exist (nothing to watch)
// every call reads it afresh.
type confCache struct {
	mu      sync.Mutex
	watcher *fsnotify.Watcher
	watched string
	gen     uint64 // bumped by every change of the dir

	valid bool
	key   [3]string
	list  *libcni.NetworkConfigList
	src   Source
	err   error
}

func (c *confCache) load(dir, name, subnet string) (*libcni.NetworkConfigList, Source, error) {
	key := [3]string{dir, name, subnet}
	c.mu.Lock()
	watching := c.watch(dir)
	if watching && c.valid && c.key == key {
		list, src, err := c.list, c.src, c.err
		c.mu.Unlock()
		return list, src, err
	}
	gen := c.gen
	c.mu.Unlock()

	list, src, err := LoadConfig(dir, name, subnet)

	c.mu.Lock()
	defer c.mu.Unlock()
	// A change seen while loading may have come after the read: keep
	// nothing then.
	if watching && c.gen == gen {
		c.valid, c.key, c.list, c.src, c.err = true, key, list, src, err
	}
	return list, src, err
}

// watch makes sure dir is watched; false if it cannot be (yet). c.mu held.
func (c *confCache) watch(dir string) bool {
	if c.watcher != nil && c.watched == dir {
		return true
	}
	c.stopLocked()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return false
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return false
	}
	c.watcher, c.watched = w, dir
	go c.drain(w)
	return true
}

func (c *confCache) drain(w *fsnotify.Watcher) {
	for {
		select {
		case _, ok := <-w.Events:
			if !ok {
				return
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
		}
		c.mu.Lock()
		c.gen++
		c.valid = false
		if c.watcher == w && !dirExists(c.watched) {
			// The dir itself went away; watch it again once it is back.
			c.stopLocked()
		}
		c.mu.Unlock()
	}
}

func (c *confCache) stopLocked() {
	if c.watcher != nil {
		c.watcher.Close()
	}
	c.watcher, c.watched, c.valid = nil, "", false
	c.gen++
}

func (c *confCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}
