// Command conmon-go is crio's per-container monitor. See pkg/monitor for the
// contract with the daemon.
//
// Usage: conmon-go < config.json  (sync pipe on fd 3)
//
//	conmon-go --version
//	conmon-go --exec PID_FILE RUNTIME [ARGS...]  (exec helper, see pkg/monitor)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"unsafe"

	"github.com/crio-runtime/crio/pkg/monitor"
	"golang.org/x/sys/unix"
)

// detachedArg marks the re-executed, long-lived monitor process.
const detachedArg = "--detached-monitor"

// syncFD is the sync pipe handed over by the daemon.
const syncFD = 3

func init() {
	// Re-executed through /proc/self/exe the monitor would show up as
	// "exe"; init runs on the main thread, whose name ps shows.
	if len(os.Args) > 1 && os.Args[1] == detachedArg {
		if name, err := unix.BytePtrFromString("conmon-go"); err == nil {
			_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
		}
	}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version", "version":
			fmt.Printf("conmon-go contract %d\n", monitor.Version)
			return
		case detachedArg:
			os.Exit(runDetached())
		case monitor.ExecArg:
			os.Exit(runExec(os.Args[2:]))
		default:
			fmt.Fprintf(os.Stderr, "conmon-go: unexpected argument %q; the config is read from stdin\n", os.Args[1])
			os.Exit(2)
		}
	}
	if err := spawn(); err != nil {
		fmt.Fprintf(os.Stderr, "conmon-go: %v\n", err)
		os.Exit(1)
	}
}

// spawn re-execs this binary in a new session with the same stdin (the
// config may not have been written yet: the daemon starts the monitor while
// it prepares the bundle) and the sync pipe on fd 3, and returns without
// waiting, so the daemon only reaps this short-lived process.
func spawn() error {
	cmd := exec.Command("/proc/self/exe", detachedArg)
	cmd.Stdin = os.Stdin
	// One P is plenty for a process that mostly waits, and it keeps the
	// runtime's per-P memory small (about 150 KiB less anonymous memory).
	cmd.Env = append(runtimeEnv(), "GOMAXPROCS=1")
	cmd.ExtraFiles = []*os.File{os.NewFile(syncFD, "sync")}
	if exe := sealedRuntime(); exe != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, exe) // stays fd 4
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	return nil
}

// runDetached is the long-lived monitor. It reports on the sync pipe until
// the container exists, then waits for it and records its exit.
func runDetached() int {
	unix.CloseOnExec(syncFD)
	syncPipe := os.NewFile(syncFD, "sync")
	exe := sealedRuntime() // before anything else could take fd 4
	var cfg monitor.Config
	dec := json.NewDecoder(os.Stdin)
	err := dec.Decode(&cfg)
	if err == nil {
		err = cfg.Validate()
	}
	if exe != nil && (err != nil || !cfg.RuntimeExe) {
		exe.Close() // a copy the daemon no longer holds current
		exe = nil
	}
	if err != nil {
		report(syncPipe, monitor.SyncMessage{Error: "monitor config: " + err.Error()})
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watchCancel(io.MultiReader(dec.Buffered(), os.Stdin), cancel)
	m := newMonitor(&cfg, openLogger(cfg.MonitorLog))
	m.exe = exe
	// Create in a goroutine that then ends: its stack, grown by exec and
	// decoding, is freed instead of staying pinned under the wait4 below.
	created := make(chan int)
	go func() {
		pid, err := m.create(ctx)
		m.closeExe() // only the create runs from it
		if err != nil {
			m.log.Error("create failed", "err", err)
			m.cleanup()
			report(syncPipe, monitor.SyncMessage{Error: err.Error()})
			pid = 0
		} else {
			report(syncPipe, monitor.SyncMessage{PID: pid, MonitorPID: os.Getpid()})
		}
		created <- pid
	}()
	pid := <-created
	if pid == 0 {
		return 1
	}
	m.waitAndRecord(pid)
	m.cleanup()
	return 0
}

// watchCancel reads what follows the config on stdin until the daemon
// closes it: a monitor.CancelCreate byte means the daemon gave up on the
// create (its client went away or its own timeout passed). A daemon that
// died closes stdin without it, and the create goes on.
func watchCancel(r io.Reader, cancel context.CancelFunc) {
	defer os.Stdin.Close()
	b := make([]byte, 64)
	for {
		n, err := r.Read(b)
		if bytes.IndexByte(b[:n], monitor.CancelCreate) >= 0 {
			cancel()
			return
		}
		if err != nil {
			return
		}
	}
}

// sealedRuntime is the sealed runtime copy at monitor.RuntimeExeFD, if the
// daemon handed one over (nil otherwise; any other fd 4 is left alone).
func sealedRuntime() *os.File {
	if !monitor.IsSealedCopy(monitor.RuntimeExeFD) {
		return nil
	}
	unix.CloseOnExec(monitor.RuntimeExeFD)
	return os.NewFile(monitor.RuntimeExeFD, "runtime")
}

// runtimeEnv is the environment for child processes: ours without the
// GOMAXPROCS the monitor runs with.
func runtimeEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "GOMAXPROCS=") {
			out = append(out, e)
		}
	}
	return out
}

func report(f *os.File, msg monitor.SyncMessage) {
	data, _ := json.Marshal(&msg)
	_, _ = f.Write(data)
	f.Close()
}

func openLogger(path string) *slog.Logger {
	if path == "" {
		return slog.New(slog.DiscardHandler)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(&limitedWriter{w: f, left: monitorLogMax}, nil))
}

// monitorLogMax bounds the monitor's own log over the container's life: a
// listener failing for good warns ten times a second.
const monitorLogMax = 1 << 20

// limitedWriter passes whole writes (slog's records) on until left runs out,
// then drops them.
type limitedWriter struct {
	w    io.Writer
	left int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.left = 0
		return len(p), nil
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}
