package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/cgwarm"
)

// Size is a terminal size.
type Size struct{ Rows, Cols uint16 }

// Streams are the client's side of an interactive exec.
type Streams struct {
	Stdin          io.Reader // nil: no stdin
	Stdout, Stderr io.Writer // nil: discarded
	Resize         <-chan Size
}

// ExecStream runs proc in the container wired to the client's streams and
// returns its exit code. With a terminal, runc's stdio is the slave of a pty
// we own, so runc forwards our size changes to the container's terminal.
func (r *Runtime) ExecStream(ctx context.Context, id, workDir string, proc *specs.Process, s Streams) (int, error) {
	dir, err := os.MkdirTemp(workDir, "exec-")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(dir)
	procFile, pidFile := filepath.Join(dir, "process.json"), filepath.Join(dir, "pid")
	data, err := json.Marshal(proc)
	if err != nil {
		return -1, err
	}
	if err := os.WriteFile(procFile, data, 0o600); err != nil {
		return -1, err
	}
	defer cgwarm.Hold()() // the runtime moves the process into the container's cgroup
	cmd, release := r.execCommand(id, procFile, pidFile, proc.Terminal)
	defer release()
	var outputDone <-chan struct{}
	var abandon func()
	if proc.Terminal {
		outputDone, abandon, err = startWithPty(cmd, s)
	} else {
		outputDone, abandon, err = startWithPipes(cmd, s)
	}
	if err != nil {
		return -1, fmt.Errorf("%s exec: %w", r.Name, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = killExec(pidFile, cmd, waited)
		abandon()
		return -1, ctx.Err()
	}
	// Let the last output reach the client before the exit code does; a
	// background process still holding the output is not waited for.
	select {
	case <-outputDone:
	case <-time.After(execDrainTimeout):
		abandon()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return -1, err
}

// startWithPipes copies stdin ourselves: exec.Cmd would make Wait block on
// a client stdin that never ends. Output pipes are our own, not
// StdoutPipe's: Wait closes those read ends when runc exits, dropping
// whatever the process wrote that was not read yet.
func startWithPipes(cmd *exec.Cmd, s Streams) (<-chan struct{}, func(), error) {
	var stdin io.WriteCloser
	var err error
	if s.Stdin != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, nil, err
		}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	// Only the child keeps the write ends, so EOF means it and the process are done.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, nil, err
	}
	if stdin != nil {
		go func() { _, _ = io.Copy(stdin, s.Stdin); stdin.Close() }()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	drain := func(w io.Writer, r *os.File) {
		defer wg.Done()
		_, _ = io.Copy(orDiscard(w), r)
		r.Close()
	}
	wg.Add(2)
	go drain(s.Stdout, outR)
	go drain(s.Stderr, errR)
	go func() { wg.Wait(); close(done) }()
	// Closing the read ends ends the copies (the files are non-blocking).
	abandon := func() { outR.Close(); errR.Close() }
	return done, abandon, nil
}

func startWithPty(cmd *exec.Cmd, s Streams) (<-chan struct{}, func(), error) {
	master, slave, err := openPty()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	// mu keeps a resize from using the master while or after it closes.
	var mu sync.Mutex
	closed := false
	go func() {
		_, _ = io.Copy(orDiscard(s.Stdout), master) // ends with EIO once every slave fd is closed
		mu.Lock()
		closed = true
		master.Close()
		mu.Unlock()
		close(done)
	}()
	if s.Stdin != nil {
		go func() { _, _ = io.Copy(master, s.Stdin) }()
	}
	if s.Resize != nil {
		go func() {
			for {
				select {
				case sz, ok := <-s.Resize:
					if !ok {
						return
					}
					mu.Lock()
					if !closed {
						_ = setWinsize(master, sz.Rows, sz.Cols)
					}
					mu.Unlock()
				case <-done:
					return
				}
			}
		}()
	}
	abandon := func() {
		mu.Lock()
		if !closed {
			closed = true
			master.Close()
		}
		mu.Unlock()
	}
	return done, abandon, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
