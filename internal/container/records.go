package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// errUnchanged, returned by an update's change, leaves the record as it
// was: nothing is written and update returns nil.
var errUnchanged = errors.New("record unchanged")

// update is the one way a container's record changes: change edits it
// under the container's lock, where the record is encoded; it is written
// once the lock is released, so a status read never waits on the disk.
// update returns when the record is on disk.
func (m *Manager) update(c *Container, change func(*Container) error) error {
	rec, err := func() (encodedRecord, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if err := change(c); err != nil {
			return encodedRecord{}, err
		}
		return encode(c)
	}()
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.write(c, rec)
}

// updateAsync is update whose write runs while the caller goes on; the
// returned func waits for the write. change (nil: none) is applied at once.
func (m *Manager) updateAsync(c *Container, change func(*Container)) func() error {
	rec, err := func() (encodedRecord, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if change != nil {
			change(c)
		}
		return encode(c)
	}()
	done := make(chan error, 1)
	go func() {
		if err == nil {
			err = m.write(c, rec)
		}
		done <- err
	}()
	return func() error { return <-done }
}

// encodedRecord is a record as encoded under c.mu, numbered in the order
// of its encoding.
type encodedRecord struct {
	data []byte
	seq  uint64
}

// encode encodes c's record; the caller holds c.mu.
func encode(c *Container) (encodedRecord, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return encodedRecord{}, fmt.Errorf("encode container %s: %w", c.ID, err)
	}
	c.seq++
	return encodedRecord{data: data, seq: c.seq}, nil
}

// write puts rec on disk unless a newer encoding is there already (writes
// finish out of order) or the record was deleted (a write still under way
// when the container is removed must not bring its record back).
func (m *Manager) write(c *Container, rec encodedRecord) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.recordGone || rec.seq <= c.written {
		return nil
	}
	if err := m.store.PutJSON(recordKind, c.ID, rec.data); err != nil {
		return fmt.Errorf("persist container %s: %w", c.ID, err)
	}
	c.written = rec.seq
	return nil
}

// deleteRecord removes c's record from disk for good.
func (m *Manager) deleteRecord(c *Container) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := m.store.Delete(recordKind, c.ID); err != nil {
		return err
	}
	c.recordGone = true
	return nil
}

// applyExit records the monitor's exit record, if there is one; it
// reports whether the container has exited.
func (m *Manager) applyExit(c *Container) (exited bool, err error) {
	fresh := false
	defer func() {
		if fresh && err == nil {
			m.dropCgroup(c)
		}
	}()
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
		exited, fresh = true, true
		return nil
	})
	return exited, err
}
