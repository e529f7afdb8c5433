package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crio-runtime/crio/pkg/monitor"
	"golang.org/x/sys/unix"
)

// clientQueue is how many output chunks an attach client may lag behind
// before it is disconnected; the container's output is never held up.
const clientQueue = 256

// hub fans container output out to attach clients.
type hub struct {
	mu      sync.Mutex
	clients map[*attachClient]struct{}
	closed  bool
	writers sync.WaitGroup
}

type attachClient struct {
	conn *os.File
	q    chan []byte
}

func newHub() *hub { return &hub{clients: map[*attachClient]struct{}{}} }

func (h *hub) add(c *attachClient) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	return true
}

// remove drops c; its writer drains what is queued and closes the connection.
func (h *hub) remove(c *attachClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.q)
	}
}

func (h *hub) broadcast(st monitor.StreamType, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		msg := make([]byte, 1+len(data))
		msg[0] = byte(st)
		copy(msg[1:], data)
		select {
		case c.q <- msg:
		default: // too slow: drop it rather than stall the container
			delete(h.clients, c)
			close(c.q)
			c.conn.Close()
		}
	}
}

// close ends every attachment once its queued output is sent, waiting at
// most timeout for that.
func (h *hub) close(timeout time.Duration) {
	h.mu.Lock()
	h.closed = true
	cs := h.clients
	h.clients = nil
	h.mu.Unlock()
	for c := range cs {
		close(c.q)
	}
	done := make(chan struct{})
	go func() { h.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

func (m *monitorState) serveAttach() {
	for {
		conn, err := m.attachLn.accept()
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				m.log.Warn("attach accept", "err", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return
		}
		c := &attachClient{conn: conn, q: make(chan []byte, clientQueue)}
		if !m.hub.add(c) {
			conn.Close()
			continue
		}
		m.hub.writers.Add(1)
		go func() {
			defer m.hub.writers.Done()
			c.writeLoop()
		}()
		go m.readClient(c)
	}
}

func (c *attachClient) writeLoop() {
	for msg := range c.q {
		if _, err := c.conn.Write(msg); err != nil {
			break
		}
	}
	// Closing only the write side lets the client see EOF while its
	// reader here notices the disconnect on its own.
	_ = closeWrite(c.conn)
	for range c.q {
	}
}

func (m *monitorState) readClient(c *attachClient) {
	defer func() {
		m.hub.remove(c)
		m.stdinDone()
		c.conn.Close()
	}()
	buf := make([]byte, 1+monitor.MaxPayload)
	for {
		n, err := c.conn.Read(buf)
		if err != nil || n == 0 {
			return
		}
		switch monitor.AttachMsg(buf[0]) {
		case monitor.AttachStdin:
			m.writeStdin(buf[1:n])
		case monitor.AttachResize:
			if n >= 5 {
				m.resize(binary.BigEndian.Uint16(buf[1:]), binary.BigEndian.Uint16(buf[3:]))
			}
		case monitor.AttachEOF:
			m.stdinDone()
		}
	}
}

func (m *monitorState) writeStdin(data []byte) {
	if !m.cfg.Stdin {
		return
	}
	m.stdinMu.Lock()
	f := m.stdin
	m.stdinMu.Unlock()
	if f == nil {
		return
	}
	m.stdinWr.Lock()
	defer m.stdinWr.Unlock()
	if _, err := f.Write(data); err != nil {
		m.log.Warn("write container stdin", "err", err)
	}
}

// stdinDone handles the end of a client's input: with StdinOnce the
// container's stdin is closed (with a terminal, an EOF character is sent).
func (m *monitorState) stdinDone() {
	if !m.cfg.Stdin || !m.cfg.StdinOnce {
		return
	}
	m.stdinMu.Lock()
	f := m.stdin
	m.stdin = nil
	m.stdinMu.Unlock()
	if f == nil {
		return
	}
	if f == m.console {
		m.stdinWr.Lock()
		_, _ = f.Write([]byte{4}) // VEOF
		m.stdinWr.Unlock()
		return
	}
	f.Close()
}

func (m *monitorState) resize(rows, cols uint16) {
	if m.console == nil {
		return
	}
	err := control(m.console, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	})
	if err != nil {
		m.log.Warn("resize terminal", "err", err)
	}
}

func (m *monitorState) serveControl() {
	for {
		conn, err := m.controlLn.accept()
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				m.log.Warn("control accept", "err", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return
		}
		go m.handleControl(conn)
	}
}

func (m *monitorState) handleControl(conn *os.File) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReaderSize(conn, 256).ReadString('\n')
	if err != nil {
		return
	}
	reply := "ok\n"
	if err := m.control(strings.Fields(line)); err != nil {
		reply = "error " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
	}
	_, _ = conn.Write([]byte(reply))
}

func (m *monitorState) control(req []string) error {
	switch {
	case len(req) == 1 && req[0] == "reopen":
		return m.logw.reopen()
	case len(req) == 3 && req[0] == "resize":
		rows, err1 := strconv.ParseUint(req[1], 10, 16)
		cols, err2 := strconv.ParseUint(req[2], 10, 16)
		if err1 != nil || err2 != nil {
			return errors.New("bad size")
		}
		m.resize(uint16(rows), uint16(cols))
		return nil
	}
	return fmt.Errorf("unknown request %q", strings.Join(req, " "))
}

type consoleResult struct {
	f   *os.File
	err error
}

// receiveConsole accepts the runtime's connection on the console socket and
// takes the pty master it sends with SCM_RIGHTS.
func receiveConsole(ln *listener) consoleResult {
	defer ln.close()
	conn, err := ln.accept()
	if err != nil {
		return consoleResult{err: fmt.Errorf("accept console socket: %w", err)}
	}
	defer conn.Close()
	fd, err := recvFD(conn)
	if err != nil {
		return consoleResult{err: fmt.Errorf("receive pty master: %w", err)}
	}
	// Kubernetes expects \n to be shown as \r\n.
	if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		t.Oflag |= unix.ONLCR
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, t)
	}
	// Non-blocking, so os.File uses the poller and read deadlines work.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return consoleResult{err: fmt.Errorf("pty master: %w", err)}
	}
	return consoleResult{f: os.NewFile(uintptr(fd), "pty-master")}
}
