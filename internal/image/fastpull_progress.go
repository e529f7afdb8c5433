package image

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/containers/image/v5/types"
)

// progressSink sends the direct path's blob events in copy.Image's form
// to the channel watchProgress made (the watchdog and the metrics hook
// read it). A nil sink or channel drops them.
type progressSink struct {
	ch       chan types.ProgressProperties
	interval time.Duration
	mu       sync.Mutex // one sender at a time; the channel closes after the pull
}

func (p *progressSink) send(ev types.ProgressProperties) {
	if p == nil || p.ch == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- ev
}

func (p *progressSink) skipped(info types.BlobInfo) {
	p.send(types.ProgressProperties{Event: types.ProgressEventSkipped, Artifact: info})
}

// whole reports a blob read in one piece (the config), as copy.Image does.
func (p *progressSink) whole(info types.BlobInfo, n int) {
	p.send(types.ProgressProperties{Event: types.ProgressEventNewArtifact, Artifact: info})
	p.send(types.ProgressProperties{Event: types.ProgressEventDone, Artifact: info, Offset: uint64(n), OffsetUpdate: uint64(n)})
}

// reader reports reads of one blob at most once per interval (and the
// rest in finish), and remembers the transfer's own error.
func (p *progressSink) reader(r io.Reader, info types.BlobInfo) *countingReader {
	c := &countingReader{r: r, sink: p, info: info, last: time.Now()}
	p.send(types.ProgressProperties{Event: types.ProgressEventNewArtifact, Artifact: info})
	return c
}

type countingReader struct {
	r       io.Reader
	sink    *progressSink
	info    types.BlobInfo
	offset  uint64
	pending uint64
	last    time.Time
	err     error // first error of r other than EOF
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.offset += uint64(n)
	c.pending += uint64(n)
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	if c.sink != nil && c.pending > 0 && time.Since(c.last) >= c.sink.interval {
		c.sink.send(types.ProgressProperties{
			Event: types.ProgressEventRead, Artifact: c.info, Offset: c.offset, OffsetUpdate: c.pending,
		})
		c.pending, c.last = 0, time.Now()
	}
	return n, err
}

// finish reports the blob done, with the bytes not reported yet.
func (c *countingReader) finish() {
	c.sink.send(types.ProgressProperties{
		Event: types.ProgressEventDone, Artifact: c.info, Offset: c.offset, OffsetUpdate: c.pending,
	})
	c.pending = 0
}
