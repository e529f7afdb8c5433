package container

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/crio-runtime/crio/internal/logging"
)

// exitWatcher turns the monitors' exit records into container state as
// soon as they are renamed into the exits dir.
type exitWatcher struct {
	w    *fsnotify.Watcher
	done chan struct{}
	stop chan struct{} // ends the monitor poll
}

// WatchExits starts watching the exits dir; records already there (written
// while the daemon was down) are picked up by Restore.
func (m *Manager) WatchExits(log *slog.Logger) error {
	if err := os.MkdirAll(m.opts.ExitsDir, 0o700); err != nil {
		return err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(m.opts.ExitsDir); err != nil {
		w.Close()
		return err
	}
	m.exits = &exitWatcher{w: w, done: make(chan struct{}), stop: make(chan struct{})}
	go m.watchMonitors(log, m.exits.stop)
	go func() {
		defer close(m.exits.done)
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op&(fsnotify.Create|fsnotify.Rename) != 0 {
					m.collectExit(filepath.Base(ev.Name), log)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("exit watcher", "error", err)
			}
		}
	}()
	return nil
}

// StopWatching ends the exit watcher.
func (m *Manager) StopWatching() {
	if m.exits != nil {
		close(m.exits.stop)
		m.exits.w.Close()
		<-m.exits.done
	}
}

// collectExit reads the record of container id, if it is one of ours.
func (m *Manager) collectExit(id string, log *slog.Logger) {
	c, ok := m.index.Get(id)
	if !ok {
		return
	}
	exited, err := m.applyExit(c)
	if err != nil && log != nil {
		log.Warn("read exit record", "container", id, "error", err)
	}
	if exited {
		m.changed()
	}
}

// waitExit waits until the container's exit is recorded, timeout passes or
// ctx ends. A monitor that died cannot record it: the exit is then recorded here.
func (m *Manager) waitExit(ctx context.Context, c *Container, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if monitorGone(c) {
			m.monitorLost(ctx, c, logging.From(ctx))
		}
		exited, _ := m.applyExit(c)
		ch := c.exitCh // set at creation, closed by markExited
		if exited {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		// The watcher closes ch; the short tick covers a missed event.
		select {
		case <-ch:
		case <-time.After(min(left, 100*time.Millisecond)):
		case <-ctx.Done():
			return false
		}
	}
}
