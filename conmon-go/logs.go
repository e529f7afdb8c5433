package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/crio-runtime/crio/pkg/monitor"
)

const (
	// readSize is the chunk read from the container per syscall, as in conmon.
	readSize = 8 * 1024
	// partialFlushDelay is how long an unterminated line waits for its end
	// before it is written as a P record.
	partialFlushDelay = 100 * time.Millisecond
)

// logWriter appends CRI records to the log file. Writes and reopen share one
// mutex, so every record lands whole in either the old or the new file.
type logWriter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	size int64
	max  int64
	log  *slog.Logger
	// dropped counts the bytes of records lost to failed writes (a full
	// disk) since the last write that worked; torn says the file may end
	// inside a record because cutting the failed write back failed too.
	dropped int64
	torn    bool
}

func openLogWriter(path string, max int64, log *slog.Logger) (*logWriter, error) {
	w := &logWriter{path: path, max: max, log: log}
	if path == "" {
		return w, nil
	}
	if err := w.openLocked(false); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *logWriter) openLocked(truncate bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(w.path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("open container log: %w", err)
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.size, w.torn = f, size, false
	return nil
}

// reopen starts writing to a fresh file at path, normally after the kubelet
// renamed the old one away. An existing file is appended to, not truncated.
func (w *logWriter) reopen() error {
	if w.path == "" {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.openLocked(false)
}

// write appends a batch of complete records.
func (w *logWriter) write(b []byte) {
	if w.f == nil || len(b) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(b) > 0 {
		n := w.fitLocked(b)
		if n == 0 {
			// Like conmon: start the file again rather than grow past the
			// limit; if that fails, keep appending rather than lose output.
			if err := w.openLocked(true); err == nil {
				continue
			}
			n = len(b)
		}
		if !w.appendLocked(b[:n]) {
			w.dropped += int64(len(b))
			return
		}
		b = b[n:]
	}
}

// appendLocked writes whole records or, failing that (ENOSPC), none: a
// partly written batch is cut back off, so the file only ever holds whole
// records and the records written once there is space again start a line
// of their own instead of ending a torn one (which the kubelet's parser
// would take as one garbled record).
func (w *logWriter) appendLocked(b []byte) bool {
	if w.torn {
		b = append([]byte{'\n'}, b...)
	}
	m, err := w.f.Write(b)
	if err == nil {
		if w.dropped > 0 {
			w.log.Info("container log writes work again", "path", w.path, "droppedBytes", w.dropped)
			w.dropped = 0
		}
		w.size += int64(m)
		w.torn = false
		return true
	}
	if w.dropped == 0 {
		w.log.Warn("container log write failed; dropping records until writes work again", "path", w.path, "err", err)
	}
	if m > 0 {
		if terr := w.f.Truncate(w.size); terr != nil {
			w.size += int64(m)
			w.torn = true
		}
	}
	return false
}

// fitLocked is how much of b, in whole records, goes into the current file
// under log_size_max; 0 asks for a fresh file. A fresh file takes at least
// one record, even one longer than the limit.
func (w *logWriter) fitLocked(b []byte) int {
	room := w.max - w.size
	if w.max <= 0 || int64(len(b)) <= room {
		return len(b)
	}
	if room > 0 {
		if i := bytes.LastIndexByte(b[:room], '\n'); i >= 0 {
			return i + 1
		}
	}
	if w.size > 0 {
		return 0
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

func (w *logWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// pump copies one output stream of the container to the log and to attach
// clients.
type pump struct {
	m       *monitorState
	src     *os.File
	stream  monitor.StreamType
	name    string // "stdout" or "stderr"
	lineMax int
	pending []byte // unterminated line
	out     []byte // records of the current chunk
	ts      []byte // timestamp and stream name of the current chunk
}

func (m *monitorState) startPumps(cio *containerIO) {
	start := func(f *os.File, st monitor.StreamType, name string) {
		p := &pump{m: m, src: f, stream: st, name: name, lineMax: m.cfg.LogLineMax}
		m.pumps.Add(1)
		go func() {
			defer m.pumps.Done()
			p.run()
		}()
	}
	start(cio.outR, monitor.Stdout, "stdout")
	if cio.errR != nil {
		start(cio.errR, monitor.Stderr, "stderr")
	}
}

func (p *pump) run() {
	buf := make([]byte, readSize)
	waiting := false // a read deadline is armed for pending
	for {
		n, err := p.src.Read(buf)
		if n > 0 {
			p.m.hub.broadcast(p.stream, buf[:n])
			p.stamp()
			p.process(buf[:n])
			p.m.logw.write(p.out)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.flushPending()
		} else if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) {
				p.m.log.Warn("read container output", "stream", p.name, "err", err)
			}
			p.flushPending()
			if p.src != p.m.console {
				p.src.Close()
			}
			return
		}
		switch {
		case len(p.pending) > 0 && (!waiting || n > 0):
			_ = p.src.SetReadDeadline(time.Now().Add(partialFlushDelay))
			waiting = true
		case len(p.pending) == 0 && waiting:
			_ = p.src.SetReadDeadline(time.Time{})
			waiting = false
		}
	}
}

// stamp sets the record prefix for the records of one read, which share a
// timestamp like conmon's.
func (p *pump) stamp() {
	p.ts = time.Now().AppendFormat(p.ts[:0], monitor.TimestampLayout)
	p.ts = append(p.ts, ' ')
	p.ts = append(p.ts, p.name...)
	p.ts = append(p.ts, ' ')
	p.out = p.out[:0]
}

// process turns a chunk of output into records in p.out.
func (p *pump) process(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			p.pending = append(p.pending, data...)
			for len(p.pending) > p.lineMax {
				p.record('P', p.pending[:p.lineMax])
				p.pending = p.pending[:copy(p.pending, p.pending[p.lineMax:])]
			}
			return
		}
		line := data[:i]
		data = data[i+1:]
		if len(p.pending) > 0 {
			p.pending = append(p.pending, line...)
			line = p.pending
		}
		for len(line) > p.lineMax {
			p.record('P', line[:p.lineMax])
			line = line[p.lineMax:]
		}
		p.record('F', line)
		p.pending = p.pending[:0]
	}
}

func (p *pump) record(tag byte, content []byte) {
	p.out = append(p.out, p.ts...)
	p.out = append(p.out, tag, ' ')
	p.out = append(p.out, content...)
	p.out = append(p.out, '\n')
}

// flushPending writes an unterminated line as a P record.
func (p *pump) flushPending() {
	if len(p.pending) == 0 {
		return
	}
	p.stamp()
	p.record('P', p.pending)
	p.m.logw.write(p.out)
	p.pending = p.pending[:0]
}
