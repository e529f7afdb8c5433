package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/pkg/monitor"
	"golang.org/x/sys/unix"
)

// drainTimeout bounds how long output is drained after the container exited;
// a process outside the container's pid namespace may hold the pipes open.
const drainTimeout = 5 * time.Second

type monitorState struct {
	cfg *monitor.Config
	log *slog.Logger

	logw   *logWriter
	hub    *hub
	tmpDir string

	attachLn  *listener
	controlLn *listener

	// stdin is the container's stdin (pipe or pty master); nil once closed.
	stdinMu sync.Mutex
	stdin   *os.File
	stdinWr sync.Mutex // serialises writers, separate so Close never waits
	console *os.File   // pty master, nil without a terminal

	pumps sync.WaitGroup
	oom   *oomWatcher

	exe *os.File // the sealed runtime copy the create runs from, if any
}

func (m *monitorState) closeExe() {
	if m.exe != nil {
		m.exe.Close()
		m.exe = nil
	}
}

func newMonitor(cfg *monitor.Config, log *slog.Logger) *monitorState {
	if cfg.LogLineMax == 0 {
		cfg.LogLineMax = monitor.DefaultLogLineMax
	}
	if cfg.CreateTimeout == 0 {
		cfg.CreateTimeout = monitor.DefaultCreateTimeout
	}
	return &monitorState{cfg: cfg, log: log.With("id", cfg.ID)}
}

// containerIO holds the runtime's side of the container's stdio until create
// has finished.
type containerIO struct {
	stdin, stdout, stderr *os.File // given to the runtime
	outR, errR            *os.File // our read ends
	consoleLn             *listener
	consolePath           string
}

func (c *containerIO) closeChildEnds() {
	for _, f := range []*os.File{c.stdin, c.stdout, c.stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// create prepares logging and sockets, runs "runtime create" and starts
// copying output. It returns the container's pid. Ending ctx (the daemon
// gave up) kills the runtime and removes what it made.
func (m *monitorState) create(ctx context.Context) (int, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("become subreaper: %w", err)
	}
	if err := monitor.JoinCgroup(os.Getpid(), m.cfg.CgroupProcs); err != nil {
		return 0, err
	}
	var err error
	// Scratch space for the console socket and the runtime's messages
	// (terminal) or the pid file (when none is given).
	if m.cfg.Terminal || m.cfg.PidFile == "" {
		if m.tmpDir, err = os.MkdirTemp("", "conmon-go-"); err != nil {
			return 0, fmt.Errorf("temp dir: %w", err)
		}
	}
	if m.logw, err = openLogWriter(m.cfg.LogPath, m.cfg.LogSizeMax, m.log); err != nil {
		return 0, err
	}
	m.hub = newHub()
	if err := m.listen(); err != nil {
		return 0, err
	}
	cio, err := m.setupIO()
	if err != nil {
		return 0, err
	}
	pid, err := m.runCreate(ctx, cio)
	if err != nil {
		return 0, err
	}
	m.oom = watchOOM(pid, m.log)
	m.startPumps(cio)
	go m.serveAttach()
	go m.serveControl()
	return pid, nil
}

func (m *monitorState) listen() error {
	var err error
	if m.attachLn, err = listenUnix(unix.SOCK_SEQPACKET, m.cfg.AttachSocket); err != nil {
		return fmt.Errorf("attach socket: %w", err)
	}
	if m.controlLn, err = listenUnix(unix.SOCK_STREAM, m.cfg.ControlSocket); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	return nil
}

func (m *monitorState) setupIO() (*containerIO, error) {
	cio := &containerIO{}
	if m.cfg.Terminal {
		cio.consolePath = filepath.Join(m.tmpDir, "console.sock")
		ln, err := listenUnix(unix.SOCK_STREAM, cio.consolePath)
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		cio.consoleLn = ln
		return cio, nil
	}
	var err error
	if m.cfg.Stdin {
		var w *os.File
		if cio.stdin, w, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		m.stdin = w
	}
	if cio.outR, cio.stdout, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	if cio.errR, cio.stderr, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	return cio, nil
}

// globalArgs are the runtime flags that precede the subcommand.
func (m *monitorState) globalArgs() []string {
	var args []string
	if m.cfg.RuntimeRoot != "" {
		args = append(args, "--root", m.cfg.RuntimeRoot)
	}
	return append(args, m.cfg.RuntimeArgs...)
}

func (m *monitorState) createArgs(pidFile, consolePath string) []string {
	args := append(m.globalArgs(), "create", "--bundle", m.cfg.Bundle, "--pid-file", pidFile)
	if consolePath != "" {
		args = append(args, "--console-socket", consolePath)
	}
	return append(args, m.cfg.ID)
}

// runCreate runs "runtime create" within the create timeout, or until
// parent ends. In pipe mode the runtime's stdout and stderr are the
// container's pipes: they are read (capped) while the runtime runs, so it
// never blocks on a full pipe, and on failure hold the runtime's message.
func (m *monitorState) runCreate(parent context.Context, cio *containerIO) (int, error) {
	pidFile := m.cfg.PidFile
	if pidFile == "" {
		pidFile = filepath.Join(m.tmpDir, "pid")
	}
	ctx, cancel := context.WithTimeout(parent, m.cfg.CreateTimeout)
	defer cancel()
	consoleCh := make(chan consoleResult, 1)
	if cio.consoleLn != nil {
		go func() { consoleCh <- receiveConsole(cio.consoleLn) }()
	}
	cmd := exec.CommandContext(ctx, m.cfg.Runtime, m.createArgs(pidFile, cio.consolePath)...)
	if m.exe != nil {
		monitor.RunSealed(cmd, m.exe)
	}
	cmd.Dir, cmd.Env = m.cfg.Bundle, runtimeEnv()
	if cio.stdin != nil {
		cmd.Stdin = cio.stdin // else /dev/null: the container gets no stdin
	}
	if cio.consoleLn == nil {
		cmd.Stdout, cmd.Stderr = cio.stdout, cio.stderr
	} else {
		f, err := os.Create(filepath.Join(m.tmpDir, "runtime.err"))
		if err != nil {
			return 0, fmt.Errorf("runtime stderr: %w", err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	m.log.Info("creating container", "args", cmd.Args)
	err := cmd.Start()
	var errCap, outCap *pipeCapture
	if err == nil && cio.errR != nil {
		errCap, outCap = capturePipe(cio.errR), capturePipe(cio.outR)
	}
	if err == nil {
		err = cmd.Wait()
	}
	cio.closeChildEnds()
	var msg *capped
	if errCap != nil {
		// The runtime's stderr; its stdout only when that is all it wrote.
		if msg = errCap.finish(); msg.total == 0 {
			msg = outCap.finish()
		} else {
			outCap.finish()
		}
	} else if cio.consoleLn != nil {
		msg = captureFile(filepath.Join(m.tmpDir, "runtime.err"))
	}
	if err != nil {
		return 0, m.createError(ctx, parent, msg, err)
	}
	if msg != nil && msg.total > 0 {
		m.log.Warn("runtime create wrote output", "output", msg.String())
	}
	if cio.consoleLn != nil {
		res := <-consoleCh
		if res.err != nil {
			return 0, res.err
		}
		m.console, m.stdin = res.f, res.f
		cio.outR = res.f
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("read runtime pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("bad runtime pid file content %q", data)
	}
	return pid, nil
}

// createError names why the create failed: cancelled by the daemon, timed
// out (both after removing what the killed runtime left), or the runtime's
// own message.
func (m *monitorState) createError(ctx, parent context.Context, msg *capped, runErr error) error {
	if ctx.Err() != nil {
		// The runtime was killed and may have left a half-created container.
		del := exec.Command(m.cfg.Runtime, append(m.globalArgs(), "delete", "--force", m.cfg.ID)...)
		del.Env = runtimeEnv()
		_ = del.Run()
		if parent.Err() != nil {
			return errors.New("runtime create cancelled by the daemon")
		}
		return fmt.Errorf("runtime create timed out after %s", m.cfg.CreateTimeout)
	}
	if msg != nil {
		if s := strings.TrimSpace(msg.String()); s != "" {
			return errors.New(s)
		}
	}
	return fmt.Errorf("runtime create: %w", runErr)
}

// waitAndRecord reaps children until the container's process is gone, drains
// its output and writes the exit record.
func (m *monitorState) waitAndRecord(pid int) {
	rec := monitor.ExitRecord{}
	ws, err := reapUntil(pid, nil)
	rec.FinishedAt = time.Now()
	switch {
	case err != nil:
		rec.ExitCode, rec.Error = 255, err.Error()
	case ws.Signaled():
		rec.Signal = int(ws.Signal())
		rec.ExitCode = 128 + rec.Signal
	default:
		rec.ExitCode = ws.ExitStatus()
	}
	m.log.Info("container exited", "pid", pid, "code", rec.ExitCode)
	drained := make(chan struct{})
	go func() { m.pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		m.log.Warn("output not drained; something outside the container holds its stdio")
	}
	rec.OOMKilled = m.oom.finish()
	err = monitor.WriteExit(m.cfg.ExitDir, m.cfg.ID, &rec)
	if errdefs.OutOfSpace(err) {
		// The exit code is nowhere else: the monitor stays until its record
		// can be written (the daemon reads it then; until then the container
		// looks running), rather than leave the daemon a dead monitor and an
		// unknown code. Attach clients get their EOF now.
		m.log.Error("write exit record; trying again until there is space", "code", rec.ExitCode, "err", err)
		m.hub.close(drainTimeout)
		for delay := exitRetryMin; errdefs.OutOfSpace(err); delay = min(2*delay, exitRetryMax) {
			time.Sleep(delay)
			err = monitor.WriteExit(m.cfg.ExitDir, m.cfg.ID, &rec)
		}
		if err == nil {
			m.log.Info("exit record written", "code", rec.ExitCode)
		}
	}
	if err != nil {
		m.log.Error("write exit record", "err", err)
	}
	m.hub.close(drainTimeout) // after a retry, a no-op: the clients are gone
}

// How often a monitor tries again to write an exit record on a full disk.
const (
	exitRetryMin = 100 * time.Millisecond
	exitRetryMax = 2 * time.Second
)

// reapUntil waits for pid, reaping every other child (runtime leftovers
// reparented to us as subreaper) on the way; their exits are kept in keep
// when it is not nil.
func reapUntil(pid int, keep map[int]unix.WaitStatus) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			// Not our child (should not happen for a subreaper): poll.
			for unix.Kill(pid, 0) == nil {
				time.Sleep(50 * time.Millisecond)
			}
			return ws, fmt.Errorf("process %d was not a child of the monitor; exit status unknown", pid)
		case err != nil:
			return ws, fmt.Errorf("wait: %w", err)
		case !ws.Exited() && !ws.Signaled():
		case got == pid:
			return ws, nil
		case keep != nil:
			keep[got] = ws
		}
	}
}

// cleanup removes what the monitor created apart from the log and exit record.
func (m *monitorState) cleanup() {
	if m.attachLn != nil {
		m.attachLn.close()
	}
	if m.controlLn != nil {
		m.controlLn.close()
	}
	if m.tmpDir != "" {
		os.RemoveAll(m.tmpDir)
	}
	if m.logw != nil {
		m.logw.close()
	}
}
