package monitor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// MaxPayload is the most data bytes one attach message carries after its
// type byte, in either direction.
const MaxPayload = 32 * 1024

// ErrMonitorGone is returned (wrapped) by the socket clients when the socket
// is gone or nobody listens on it any more, normally because the container
// exited.
var ErrMonitorGone = errors.New("monitor is not running")

// StartResult is what Start learns from the monitor.
type StartResult struct {
	// PID is the container's init pid, in the host pid namespace.
	PID int
	// MonitorPID is the long-lived monitor's pid.
	MonitorPID int
}

// Start execs the monitor binary at monitorPath for cfg (cfg.Version is filled
// in), waits for the short-lived first process and then for the monitor's sync
// message. It returns once the runtime's create has finished. If ctx ends
// first the create is cancelled as in Run and Start returns ctx's error;
// the caller should still force-delete the container.
func Start(ctx context.Context, monitorPath string, cfg *Config) (StartResult, error) {
	p, err := Launch(monitorPath)
	if err != nil {
		return StartResult{}, err
	}
	return p.Run(ctx, cfg)
}

// Pending is a monitor started before its config exists: its process
// start-up (two Go runtimes) overlaps the caller's preparation of the
// bundle. Exactly one of Run and Abort must be called.
type Pending struct {
	path   string
	config *os.File // write end of the monitor's stdin
	sync   *os.File // read end of the sync pipe
	first  chan error
	exe    *os.File // the sealed runtime copy handed over at launch, if any
}

// RunSealed makes cmd, a runtime command, run from exe, the runtime's sealed
// copy: the child gets it as fd 3 and is executed through that; Args[0]
// stays the binary's path, for ps and the runtime's messages.
func RunSealed(cmd *exec.Cmd, exe *os.File) {
	cmd.Path, cmd.Err = SealedRuntimePath, nil
	cmd.ExtraFiles = []*os.File{exe}
}

// RuntimeExe is the sealed runtime copy the monitor got at launch (nil:
// none); the caller sets Config.RuntimeExe if it is still the current one.
func (p *Pending) RuntimeExe() *os.File { return p.exe }

// Launch execs the monitor at monitorPath; it waits on stdin for the config
// that Run sends.
func Launch(monitorPath string) (*Pending, error) { return LaunchEnv(monitorPath, nil) }

// LaunchEnv is Launch with the monitor's environment (nil: the caller's);
// the runtime the monitor runs inherits it.
func LaunchEnv(monitorPath string, env []string) (*Pending, error) {
	return LaunchExe(monitorPath, env, nil)
}

// LaunchExe is LaunchEnv that also hands the monitor exe, a sealed copy of
// the runtime binary (see RuntimeExeFD), when it is not nil.
func LaunchExe(monitorPath string, env []string, exe *os.File) (*Pending, error) {
	cr, cw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("monitor config pipe: %w", err)
	}
	sr, sw, err := os.Pipe()
	if err != nil {
		cr.Close()
		cw.Close()
		return nil, fmt.Errorf("sync pipe: %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(monitorPath)
	// The first process only re-execs itself: one P starts fastest.
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string(nil), env...), "GOMAXPROCS=1")
	cmd.Stdin = cr
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{sw}
	if exe != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, exe) // fd 4: RuntimeExeFD
	}
	err = cmd.Start()
	cr.Close()
	sw.Close()
	if err != nil {
		cw.Close()
		sr.Close()
		return nil, fmt.Errorf("run monitor %s: %w", monitorPath, err)
	}
	p := &Pending{path: monitorPath, config: cw, sync: sr, first: make(chan error, 1), exe: exe}
	// The first process only re-execs itself detached and exits; reap it.
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("run monitor %s: %w: %s", monitorPath, err, strings.TrimSpace(stderr.String()))
		}
		p.first <- err
	}()
	return p, nil
}

// ErrConfigNotDelivered: the monitor ended before it read its whole config,
// so it ran nothing; another monitor may be tried.
var ErrConfigNotDelivered = errors.New("monitor gone before it read its config")

// Abort tells the monitor there will be no container: it exits without
// running anything.
func (p *Pending) Abort() {
	p.config.Close()
	p.sync.Close()
}

// cancelGrace is how long Run waits for the monitor to report after asking
// it to cancel the create, and how long past the monitor's own create
// timeout Run waits before asking.
const cancelGrace = 10 * time.Second

// Run sends cfg (cfg.Version is filled in) and waits for the sync message,
// that is until the runtime's create has finished. If ctx ends first, or
// the monitor's CreateTimeout plus a grace passes, Run cancels the create
// (the monitor kills the runtime, force-deletes the container and exits),
// waits briefly for that, and returns the context's error; the caller
// should still force-delete the container.
func (p *Pending) Run(ctx context.Context, cfg *Config) (StartResult, error) {
	defer p.sync.Close()
	defer p.config.Close()
	c := *cfg
	c.Version = Version
	err := c.Validate()
	var data []byte
	if err == nil {
		data, err = json.Marshal(&c)
	}
	if err != nil {
		return StartResult{}, fmt.Errorf("invalid monitor config: %w", err)
	}
	_, werr := p.config.Write(data)
	timeout := c.CreateTimeout
	if timeout == 0 {
		timeout = DefaultCreateTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+cancelGrace)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		_, _ = p.config.Write([]byte{CancelCreate})
		_ = p.sync.SetReadDeadline(time.Now().Add(cancelGrace))
	})
	defer stop()
	raw, err := io.ReadAll(io.LimitReader(p.sync, 1<<20))
	if ctx.Err() != nil {
		return StartResult{}, fmt.Errorf("wait for monitor of %s: %w", c.ID, ctx.Err())
	}
	if err != nil {
		return StartResult{}, fmt.Errorf("read monitor sync pipe: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		// Nothing reported: the first process failed, or the monitor died.
		if ferr := <-p.first; ferr != nil {
			return StartResult{}, ferr
		}
		if werr != nil {
			return StartResult{}, fmt.Errorf("pass config to monitor of %s: %w: %w", c.ID, ErrConfigNotDelivered, werr)
		}
		return StartResult{}, fmt.Errorf("monitor of %s exited without reporting", c.ID)
	}
	var msg SyncMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		return StartResult{}, fmt.Errorf("decode monitor sync message %q: %w", raw, err)
	}
	if msg.Error != "" {
		return StartResult{}, fmt.Errorf("create container %s: %s", c.ID, msg.Error)
	}
	if msg.PID <= 0 {
		return StartResult{}, fmt.Errorf("monitor of %s reported no pid", c.ID)
	}
	return StartResult{PID: msg.PID, MonitorPID: msg.MonitorPID}, nil
}

// ReadExit reads the exit record of container id from dir. A missing record
// yields an error matching fs.ErrNotExist.
func ReadExit(dir, id string) (*ExitRecord, error) {
	data, err := os.ReadFile(filepath.Join(dir, id))
	if err != nil {
		return nil, fmt.Errorf("read exit record: %w", err)
	}
	var rec ExitRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode exit record %s: %w", filepath.Join(dir, id), err)
	}
	return &rec, nil
}

// WriteExit writes rec as <dir>/<id> atomically: temporary file, fsync,
// rename, fsync of dir. The monitor uses it; it is exported for tests and
// tools.
func WriteExit(dir, id string, rec *ExitRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode exit record: %w", err)
	}
	tmp := filepath.Join(dir, "."+id+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write exit record: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, id))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write exit record: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename is already visible; this only hardens it
		d.Close()
	}
	return nil
}

// ReopenLog asks the monitor to reopen its log file, after the kubelet
// rotated it. It returns once the monitor writes to the new file.
func ReopenLog(ctx context.Context, controlSocket string) error {
	return control(ctx, controlSocket, "reopen")
}

// Resize sets the container's terminal size.
func Resize(ctx context.Context, controlSocket string, size Size) error {
	return control(ctx, controlSocket, "resize "+strconv.Itoa(int(size.Rows))+" "+strconv.Itoa(int(size.Cols)))
}

func control(ctx context.Context, path, req string) error {
	conn, err := dialUnix(ctx, unix.SOCK_STREAM, path)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	if _, err := io.WriteString(conn, req+"\n"); err != nil {
		return fmt.Errorf("monitor control %q: %w", req, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("monitor control %q: %w", req, err)
	}
	line = strings.TrimSuffix(line, "\n")
	if line != "ok" {
		return fmt.Errorf("monitor control %q: %s", req, strings.TrimPrefix(line, "error "))
	}
	return nil
}

// MonitorPID returns the pid of the monitor serving controlSocket (the
// socket's peer credentials); the daemon uses it when its record of a
// container predates the monitor's report.
func MonitorPID(ctx context.Context, controlSocket string) (int, error) {
	conn, err := dialUnix(ctx, unix.SOCK_STREAM, controlSocket)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, fmt.Errorf("monitor credentials: %w", cerr)
	}
	return int(cred.Pid), nil
}
