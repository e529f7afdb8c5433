package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// What is kept of the runtime's messages during create: the start (what
// failed) and the end (why); a runtime may print megabytes, e.g. a 70,000
// character command quoted twice.
const (
	captureHead = 16 << 10
	captureTail = 48 << 10
)

// capped is an io.Writer keeping the first captureHead and the last
// captureTail bytes written to it.
type capped struct {
	head, tail []byte
	total      int64
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	if room := captureHead - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > 2*captureTail { // compact now and then, not per write
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-captureTail:]...)
	}
	return n, nil
}

// String is what was kept, with a note where bytes were left out.
func (c *capped) String() string {
	tail := c.tail
	if len(tail) > captureTail {
		tail = tail[len(tail)-captureTail:]
	}
	omitted := c.total - int64(len(c.head)) - int64(len(tail))
	if omitted <= 0 {
		return string(c.head) + string(tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes of runtime output omitted ...]\n%s", c.head, omitted, tail)
}

// pipeCapture reads a pipe into a capped buffer while the runtime runs, so
// a runtime writing more than the pipe holds (64 KiB) never blocks on it.
type pipeCapture struct {
	f    *os.File
	buf  capped
	done chan struct{}
}

func capturePipe(f *os.File) *pipeCapture {
	c := &pipeCapture{f: f, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		b := make([]byte, 32<<10)
		for {
			n, err := f.Read(b)
			c.buf.Write(b[:n])
			if err != nil {
				return // deadline from finish, or EOF
			}
		}
	}()
	return c
}

// finish stops reading once the runtime has exited and takes what is still
// buffered in the pipe without waiting for more: on success the container
// (runc init) holds the write end, and its output is the pumps' to read.
func (c *pipeCapture) finish() *capped {
	_ = c.f.SetReadDeadline(time.Unix(1, 0))
	<-c.done
	_ = c.f.SetReadDeadline(time.Time{})
	if rc, err := c.f.SyscallConn(); err == nil {
		b := make([]byte, 32<<10)
		_ = rc.Read(func(fd uintptr) bool {
			for {
				n, err := unix.Read(int(fd), b)
				if n <= 0 || err != nil {
					return true // empty (EAGAIN), EOF or an error: done either way
				}
				c.buf.Write(b[:n])
			}
		})
	}
	return &c.buf
}

// captureFile reads a file's content through a capped buffer.
func captureFile(path string) *capped {
	var c capped
	if f, err := os.Open(path); err == nil {
		_, _ = io.Copy(&c, f)
		f.Close()
	}
	return &c
}
