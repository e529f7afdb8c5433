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
// first Start returns ctx's error; the monitor goes on and enforces its own
// CreateTimeout, so the caller should force-delete the container.
func Start(ctx context.Context, monitorPath string, cfg *Config) (StartResult, error) {
	c := *cfg
	c.Version = Version
	if err := c.Validate(); err != nil {
		return StartResult{}, fmt.Errorf("invalid monitor config: %w", err)
	}
	data, err := json.Marshal(&c)
	if err != nil {
		return StartResult{}, fmt.Errorf("encode monitor config: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return StartResult{}, fmt.Errorf("sync pipe: %w", err)
	}
	defer r.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(monitorPath)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return StartResult{}, fmt.Errorf("run monitor %s: %w: %s", monitorPath, err, strings.TrimSpace(stderr.String()))
	}
	stop := context.AfterFunc(ctx, func() { _ = r.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	raw, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if ctx.Err() != nil {
		return StartResult{}, fmt.Errorf("wait for monitor of %s: %w", c.ID, ctx.Err())
	}
	if err != nil {
		return StartResult{}, fmt.Errorf("read monitor sync pipe: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
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
