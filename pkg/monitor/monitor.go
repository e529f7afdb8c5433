// Package monitor is the versioned contract between the crio daemon and its
// per-container monitor, conmon-go.
//
// # Starting a monitor
//
// The daemon calls Start (or Launch, then Run), which execs conmon-go with no
// arguments, hands it the write end of a sync pipe as fd 3 and writes the
// JSON-encoded Config to its stdin, possibly later: the monitor may start
// while the daemon still prepares the bundle. conmon-go re-execs itself in a
// new session (setsid), passing stdin on, and exits at once, so the daemon only ever reaps that short-lived first process; the
// long-lived monitor is reparented to the nearest subreaper (normally pid 1)
// and survives daemon restarts. The daemon therefore must not make itself a
// child subreaper.
//
// The monitor joins the cgroups listed in Config.CgroupProcs, makes itself a
// child subreaper, runs "<runtime> [RuntimeArgs] create" and writes exactly one
// JSON SyncMessage to fd 3 ({"pid":N,"monitorPid":M} or {"error":"..."})
// before closing it. The daemon runs "<runtime> start" itself afterwards.
// A daemon with a sealed copy of the runtime binary (see RuntimeExeFD) hands
// it over as fd 4 and sets Config.RuntimeExe; the monitor runs the create
// from it and closes it after.
// The runtime's output during create is read while it runs and kept capped
// (its start and end), so a runtime printing more than a pipe holds never
// blocks.
//
// The daemon keeps stdin open after the config until the sync message came.
// If it gives up first (its client went away, or CreateTimeout plus a grace
// passed), it writes the CancelCreate byte there: the monitor kills the
// runtime, force-deletes the container, reports an error and exits. Stdin
// closed without that byte (the daemon died) leaves the create going on.
//
// # Logs
//
// Container output is written to Config.LogPath in the kubelet CRI format, one
// record per line:
//
//	<timestamp> <stdout|stderr> <P|F> <content>\n
//
// The timestamp is RFC 3339 with nanoseconds, fixed width, local offset
// (layout TimestampLayout). A record's content is at most LogLineMax bytes.
// A complete line is written with tag F. A longer line is split into P records
// of exactly LogLineMax bytes followed by an F record with the remainder.
// An unterminated line is written as P when the container stops writing for a
// moment (about 100ms) or closes the stream, like conmon, which tags
// unterminated data P. With a terminal all output is stdout.
//
// # Attach socket
//
// Config.AttachSocket is a unix SOCK_SEQPACKET socket (Go network
// "unixpacket"); message boundaries carry the framing. Every message from the
// monitor is one StreamType byte followed by output bytes. Every attached client
// receives all output produced while it is attached; when the container has
// exited and its output is drained the monitor closes the connection. Every
// message from a client starts with one AttachMsg byte:
//
//	AttachStdin  (0) + data          bytes for the container's stdin
//	AttachResize (1) + rows + cols   each a big-endian uint16
//	AttachEOF    (2)                 the client's stdin ended
//
// When a client's stdin ends (AttachEOF) or the client disconnects, the
// monitor closes the container's stdin if Config.StdinOnce is set. Detaching
// never stops the container.
//
// # Control socket
//
// Config.ControlSocket is a unix stream socket. A client sends one line and
// reads one line back, "ok" or "error <message>":
//
//	reopen\n              reopen Config.LogPath (after the kubelet rotated it)
//	resize <rows> <cols>\n  set the terminal size (no-op without a terminal)
//
// # Exec helper
//
// "conmon-go --exec PID_FILE RUNTIME ARGS..." runs one exec for the daemon
// (ExecSync): RUNTIME ARGS is the runtime's detached exec ("runc ... exec
// --detach --pid-file PID_FILE ..."), which passes the helper's stdio on to the
// process. The helper is a child subreaper, so the process is left to it;
// it waits for it and exits with its exit code (128+signal if killed), or
// with the runtime's non-zero code if the exec failed (its stderr says why),
// or ExecFailed. Unlike a non-detached runtime, it does not wait for
// background processes that keep the output open.
//
// # Exit record
//
// When the container's process exits the monitor writes one ExitRecord as JSON
// to <ExitDir>/<ID> atomically (temporary file, fsync, rename, fsync of the
// directory), then exits.
package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ExecArg selects the exec helper; ExecFailed is its code when the helper
// itself failed.
const (
	ExecArg    = "--exec"
	ExecFailed = 255
)

// Version is the version of this contract. The monitor refuses a Config with
// another version, so the daemon and monitor binary must come from one build.
const Version = 2 // 2: the sealed runtime copy at fd 4

// TimestampLayout is the layout of the timestamp of each CRI log record.
const TimestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Defaults used when the corresponding Config field is zero.
const (
	DefaultLogLineMax    = 16 * 1024
	DefaultCreateTimeout = 4 * time.Minute
)

// StreamType prefixes every output message on the attach socket.
type StreamType byte

// Output stream types.
const (
	Stdout StreamType = 1
	Stderr StreamType = 2
)

// AttachMsg prefixes every message a client sends on the attach socket.
type AttachMsg byte

// Client message types.
const (
	AttachStdin  AttachMsg = 0
	AttachResize AttachMsg = 1
	AttachEOF    AttachMsg = 2
)

// Config describes one container to the monitor. It is passed as JSON on the
// monitor's stdin.
type Config struct {
	// Version must equal the Version constant; Start fills it in.
	Version int `json:"version"`
	// ID is the container id, as known to the runtime.
	ID string `json:"id"`
	// Bundle is the OCI bundle directory.
	Bundle string `json:"bundle"`
	// Runtime is the path of the OCI runtime binary (runc, crun).
	Runtime string `json:"runtime"`
	// RuntimeRoot is passed as "--root" to the runtime when set.
	RuntimeRoot string `json:"runtimeRoot,omitempty"`
	// RuntimeArgs are extra global runtime flags, placed before "create".
	RuntimeArgs []string `json:"runtimeArgs,omitempty"`
	// LogPath is the CRI log file; empty disables logging.
	LogPath string `json:"logPath,omitempty"`
	// LogSizeMax truncates the log file when it would grow beyond this many
	// bytes, like conmon's --log-size-max; 0 means unlimited.
	LogSizeMax int64 `json:"logSizeMax,omitempty"`
	// LogLineMax is the maximum content bytes of one log record; 0 means
	// DefaultLogLineMax.
	LogLineMax int `json:"logLineMax,omitempty"`
	// ExitDir receives the exit record, a file named ID.
	ExitDir string `json:"exitDir"`
	// AttachSocket is the path of the attach socket (at most 107 bytes).
	AttachSocket string `json:"attachSocket"`
	// ControlSocket is the path of the control socket (at most 107 bytes).
	ControlSocket string `json:"controlSocket"`
	// PidFile is where the runtime writes the container pid; empty means a
	// temporary file.
	PidFile string `json:"pidFile,omitempty"`
	// Terminal allocates a pty (runtime --console-socket).
	Terminal bool `json:"terminal,omitempty"`
	// Stdin keeps the container's stdin open for attach clients.
	Stdin bool `json:"stdin,omitempty"`
	// StdinOnce closes the container's stdin when the first attach client
	// detaches or ends its stdin.
	StdinOnce bool `json:"stdinOnce,omitempty"`
	// CreateTimeout bounds "runtime create"; 0 means DefaultCreateTimeout.
	CreateTimeout time.Duration `json:"createTimeout,omitempty"`
	// CgroupProcs lists cgroup.procs files (for example the pod's cgroup in
	// each v1 hierarchy) the monitor writes its own pid into before it creates
	// the container. Failure to join is fatal.
	CgroupProcs []string `json:"cgroupProcs,omitempty"`
	// MonitorLog is a file for the monitor's own diagnostics; empty discards.
	MonitorLog string `json:"monitorLog,omitempty"`
	// RuntimeExe: the monitor got a sealed copy of Runtime at RuntimeExeFD
	// (see LaunchExe) and runs the runtime's create from it.
	RuntimeExe bool `json:"runtimeExe,omitempty"`
}

// RuntimeExeFD is where a monitor receives a sealed copy of the runtime
// binary: a memfd whose seals forbid any write, so no container can change
// it (runc 1.1 then skips copying itself on each "runc init").
const RuntimeExeFD = 4

// SealedRuntimePath is what a runtime is executed as when its sealed copy
// is the child's fd 3: the first of exec.Cmd's ExtraFiles.
const SealedRuntimePath = "/proc/self/fd/3"

// SealedSeals are the seals a sealed runtime copy carries: exactly those
// runc 1.1 looks for before it skips its own copy.
const SealedSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// IsSealedCopy reports whether fd is a memfd carrying exactly SealedSeals.
func IsSealedCopy(fd int) bool {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	return err == nil && seals == SealedSeals
}

// Validate reports the first missing or malformed field.
func (c *Config) Validate() error {
	switch {
	case c.Version != Version:
		return fmt.Errorf("contract version %d, monitor speaks %d", c.Version, Version)
	case c.ID == "" || c.ID != filepath.Base(c.ID) || c.ID == "." || c.ID == "..":
		return fmt.Errorf("invalid container id %q", c.ID)
	case c.Bundle == "":
		return errors.New("bundle is required")
	case c.Runtime == "":
		return errors.New("runtime is required")
	case c.ExitDir == "":
		return errors.New("exit dir is required")
	case c.AttachSocket == "" || len(c.AttachSocket) > 107:
		return fmt.Errorf("invalid attach socket path %q", c.AttachSocket)
	case c.ControlSocket == "" || len(c.ControlSocket) > 107:
		return fmt.Errorf("invalid control socket path %q", c.ControlSocket)
	case c.LogLineMax < 0 || c.LogSizeMax < 0 || c.CreateTimeout < 0:
		return errors.New("negative limit")
	}
	return nil
}

// CancelCreate, written to the monitor's stdin after its config, cancels
// the create.
const CancelCreate = 'x'

// SyncMessage is written once by the monitor on the sync pipe (fd 3).
type SyncMessage struct {
	// PID is the container's init pid on success.
	PID int `json:"pid,omitempty"`
	// MonitorPID is the long-lived monitor's pid.
	MonitorPID int `json:"monitorPid,omitempty"`
	// Error is set when the container could not be created; for runtime
	// failures it is the runtime's error output.
	Error string `json:"error,omitempty"`
}

// Size is a terminal size.
type Size struct {
	Rows uint16
	Cols uint16
}

// ExitRecord is what the monitor writes to <ExitDir>/<ID> when the container's
// process has exited.
type ExitRecord struct {
	// ExitCode is the exit status, or 128+signal when killed by a signal.
	ExitCode int `json:"exitCode"`
	// Signal is the signal number that killed the process, 0 if it exited.
	Signal int `json:"signal,omitempty"`
	// FinishedAt is when the monitor reaped the process (RFC 3339, nanoseconds).
	FinishedAt time.Time `json:"finishedAt"`
	// OOMKilled is set when the kernel OOM killer fired in the container's
	// memory cgroup during its life.
	OOMKilled bool `json:"oomKilled"`
	// Error describes why the status is not trustworthy (for example the
	// process could not be waited for); ExitCode is then 255.
	Error string `json:"error,omitempty"`
}

// JoinCgroup writes pid into each cgroup.procs file.
func JoinCgroup(pid int, procsFiles []string) error {
	for _, p := range procsFiles {
		if err := os.WriteFile(p, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}
