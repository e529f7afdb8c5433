package container

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// errUnchanged, returned by an update's change, leaves the record as it
// was: nothing is written and update returns nil.
var errUnchanged = errors.New("record unchanged")

// update is the one way a container's record changes: change edits it
// under the container's lock, and the record is then persisted.
func (m *Manager) update(c *Container, change func(*Container) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := change(c); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	return m.persist(c)
}

// updateAsync is update whose write runs while the caller waits on the
// runtime; the returned func waits for the write. change (nil: none) is
// applied at once. Every write happens under c.mu and encodes the record as
// it is then, so the last one on disk is the newest.
func (m *Manager) updateAsync(c *Container, change func(*Container)) func() error {
	if change != nil {
		c.mu.Lock()
		change(c)
		c.mu.Unlock()
	}
	done := make(chan error, 1)
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		done <- m.persist(c)
	}()
	return func() error { return <-done }
}

// persist writes c's record; the caller holds c.mu (see update).
func (m *Manager) persist(c *Container) error {
	if err := m.store.Put(recordKind, c.ID, c); err != nil {
		return fmt.Errorf("persist container %s: %w", c.ID, err)
	}
	return nil
}

// applyExit records the monitor's exit record, if there is one; it
// reports whether the container has exited.
func (m *Manager) applyExit(c *Container) (exited bool, err error) {
	err = m.update(c, func(c *Container) error {
		if c.Exited {
			exited = true
			return errUnchanged
		}
		rec, err := monitor.ReadExit(m.opts.ExitsDir, c.ID)
		if errors.Is(err, fs.ErrNotExist) {
			return errUnchanged
		}
		if err != nil {
			return err
		}
		if rec.Error != "" {
			c.Message = rec.Error
		}
		c.markExited(int32(rec.ExitCode), rec.FinishedAt, rec.OOMKilled, "")
		exited = true
		return nil
	})
	return exited, err
}
