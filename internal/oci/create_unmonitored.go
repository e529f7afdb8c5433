package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crio-runtime/crio/internal/cgwarm"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// CreateUnmonitored runs "<runtime> create" itself, without a monitor, for
// a process whose output, exit code and attach nobody asks for: a pod's
// infra (pause). The container's stdin and stdout are /dev/null and its
// stderr is <bundle>/create.err, which keeps the runtime's message when
// the create fails. The runtime runs in a session of its own, so the
// container's init leaves the daemon's process group (a terminal's ^C) and,
// once the runtime exits, is the host init's child like a monitor is.
// timeout bounds the create (0: monitor.DefaultCreateTimeout); ending ctx
// kills the runtime, which may leave a half-created container for Delete.
func (r *Runtime) CreateUnmonitored(ctx context.Context, id, bundle string, timeout time.Duration) (int, error) {
	if timeout <= 0 {
		timeout = monitor.DefaultCreateTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pidFile := filepath.Join(bundle, "pid")
	errPath := filepath.Join(bundle, "create.err")
	errFile, err := os.OpenFile(errPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("%s create: %w", r.Name, err)
	}
	defer errFile.Close()
	args := append(r.globalArgs(), "create", "--bundle", bundle, "--pid-file", pidFile, id)
	cmd := exec.CommandContext(ctx, r.Path, args...)
	cmd.Dir, cmd.Env, cmd.Stderr = bundle, r.Env, errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	s := r.exe.acquire()
	s.runFrom(cmd)
	release := cgwarm.Hold() // the runtime moves the container into its cgroup
	err = cmd.Run()
	release()
	r.exe.release(s)
	if err != nil {
		if ctx.Err() != nil { // killed: the caller gave up, or the timeout passed
			return 0, fmt.Errorf("%s create: %w", r.Name, ctx.Err())
		}
		if msg := readCapped(errPath, 4096); msg != "" {
			err = errors.New(msg)
		}
		return 0, fmt.Errorf("%s create: %w", r.Name, err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("%s create: pid file: %w", r.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s create: bad pid file content %q", r.Name, data)
	}
	return pid, nil
}

// readCapped is the start of the file at path, trimmed ("" if unreadable).
func readCapped(path string, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, limit))
	return strings.TrimSpace(string(b))
}
