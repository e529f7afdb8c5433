package monitor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// aLongTimeAgo is a deadline in the past, used to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Attach connects to the monitor's attach socket and copies the container's
// output to stdout and stderr (either may be nil to discard) until the
// container exits or ctx ends. When stdin is not nil it is copied to the
// container's stdin and its end is reported to the monitor; a goroutine
// blocked in stdin.Read is left behind until that Read returns. Sizes
// received on resize are forwarded to the container's terminal.
func Attach(ctx context.Context, socketPath string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan Size) error {
	conn, err := dialUnix(ctx, unix.SOCK_SEQPACKET, socketPath)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(aLongTimeAgo) })
	defer stop()

	s := &attachSender{conn: conn}
	done := make(chan struct{})
	defer close(done)
	if stdin != nil {
		go s.copyStdin(stdin, done)
	}
	if resize != nil {
		go s.forwardResize(resize, done)
	}
	err = copyOutput(conn, stdout, stderr)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// copyOutput demultiplexes monitor messages until the monitor closes.
func copyOutput(conn *os.File, stdout, stderr io.Writer) error {
	buf := make([]byte, 2*MaxPayload)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			w := stdout
			if StreamType(buf[0]) == Stderr {
				w = stderr
			}
			if w != nil && n > 1 {
				if _, werr := w.Write(buf[1:n]); werr != nil {
					return fmt.Errorf("attach output: %w", werr)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("attach: %w", err)
		}
	}
}

type attachSender struct {
	mu   sync.Mutex
	conn *os.File
}

func (s *attachSender) send(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.conn.Write(b)
	return err
}

func (s *attachSender) copyStdin(stdin io.Reader, done <-chan struct{}) {
	buf := make([]byte, 1+MaxPayload)
	buf[0] = byte(AttachStdin)
	for {
		n, err := stdin.Read(buf[1:])
		select {
		case <-done:
			return
		default:
		}
		if n > 0 {
			if s.send(buf[:1+n]) != nil {
				return
			}
		}
		if err != nil {
			_ = s.send([]byte{byte(AttachEOF)})
			return
		}
	}
}

func (s *attachSender) forwardResize(resize <-chan Size, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sz, ok := <-resize:
			if !ok {
				return
			}
			msg := make([]byte, 5)
			msg[0] = byte(AttachResize)
			binary.BigEndian.PutUint16(msg[1:], sz.Rows)
			binary.BigEndian.PutUint16(msg[3:], sz.Cols)
			if s.send(msg) != nil {
				return
			}
		}
	}
}
