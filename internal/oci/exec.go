package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/cgwarm"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// MaxExecOutput caps what ExecSync keeps of stdout and stderr together, so
// the reply fits the kubelet's 16 MiB gRPC message limit with its notes.
const MaxExecOutput = 16<<20 - 4<<10

// execDrainTimeout bounds the wait for output after the exec'd process
// exits (containerd's drain_exec_sync_io_timeout; it waits forever by default,
// which hangs probes that start background processes).
const execDrainTimeout = 2 * time.Second

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int32
	TimedOut       bool
}

// ExecSync runs proc in the container and waits for it, up to timeout (0 =
// no limit). On timeout the process is killed. The process spec comes from
// the container's, so it gets the container's user, env, caps and seccomp.
func (r *Runtime) ExecSync(ctx context.Context, id, workDir string, proc *specs.Process, timeout time.Duration) (*ExecResult, error) {
	dir, err := os.MkdirTemp(workDir, "exec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	procFile, pidFile := filepath.Join(dir, "process.json"), filepath.Join(dir, "pid")
	data, err := json.Marshal(proc)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(procFile, data, 0o600); err != nil {
		return nil, err
	}
	defer cgwarm.Hold()() // the runtime moves the process into the container's cgroup
	cmd, release := r.execCommand(id, procFile, pidFile, false)
	defer release()
	budget := &execBudget{left: MaxExecOutput}
	stdout, stderr := &capped{budget: budget}, &capped{budget: budget}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A background process the command left behind may hold its output
	// open forever; the reply does not wait for it past this.
	cmd.WaitDelay = execDrainTimeout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s exec: %w", r.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	res := &ExecResult{}
	select {
	case err = <-done:
	case <-timer:
		res.TimedOut = true
		err = killExec(pidFile, cmd, done)
	case <-ctx.Done():
		_ = killExec(pidFile, cmd, done)
		return nil, ctx.Err()
	}
	res.Stdout, res.Stderr = stdout.bytes(), stderr.bytes()
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
	case errors.As(err, &ee):
		res.ExitCode = int32(ee.ExitCode())
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int32(ws.Signal())
		}
	default:
		return nil, fmt.Errorf("%s exec: %w", r.Name, err)
	}
	return res, nil
}

// execCommand runs an exec of the process in procFile. Without a terminal
// it goes through the monitor's exec helper: a non-detached runtime does not
// report the exit before every holder of the output (a background process
// the command started) is gone; see pkg/monitor. With one, runc relays
// between our pty and the container's console itself.
//
// Runc runs from its sealed copy when there is one; release it once cmd
// has started.
func (r *Runtime) execCommand(id, procFile, pidFile string, tty bool) (_ *exec.Cmd, release func()) {
	s := r.exe.acquire()
	release = func() { r.exe.release(s) }
	if tty {
		args := append(r.globalArgs(), "exec", "--process", procFile, "--pid-file", pidFile, "--tty", id)
		cmd := exec.Command(r.Path, args...)
		s.runFrom(cmd)
		return cmd, release
	}
	runtime := r.Path
	if s != nil {
		runtime = monitor.SealedRuntimePath // the helper hands its fd 3 on
	}
	args := append([]string{monitor.ExecArg, pidFile, runtime}, r.globalArgs()...)
	args = append(args, "exec", "--detach", "--process", procFile, "--pid-file", pidFile, id)
	cmd := exec.Command(r.Monitor, args...)
	cmd.Env = r.Env // nil (a Runtime built by hand): the daemon's
	if s != nil {
		cmd.ExtraFiles = []*os.File{s.f}
	}
	return cmd, release
}

// killExec kills the exec'd process (runc cannot forward SIGKILL) and lets
// its parent (runc, or the exec helper) reap it and exit; killing the parent
// first would orphan the process to a pid 1 that may never reap it. The
// parent is killed only if it lingers. It returns the parent's exit error.
func killExec(pidFile string, cmd *exec.Cmd, done <-chan error) error {
	for i := 0; i < 50; i++ {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		return <-done
	}
}

// execBudget is the room stdout and stderr share.
type execBudget struct {
	mu   sync.Mutex
	left int
}

func (b *execBudget) take(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, b.left)
	b.left -= n
	return n
}

// capped keeps what the shared budget allows and notes how much it dropped.
type capped struct {
	buf     bytes.Buffer
	budget  *execBudget
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	n := c.budget.take(len(p))
	c.buf.Write(p[:n])
	c.dropped += int64(len(p) - n)
	return len(p), nil
}

func (c *capped) bytes() []byte {
	if c.dropped > 0 {
		fmt.Fprintf(&c.buf, "\n[output truncated: %d bytes dropped]\n", c.dropped)
	}
	return c.buf.Bytes()
}
