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
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/cgwarm"
	"github.com/crio-runtime/crio/pkg/config"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// Runtime is one configured handler: its runtime binary, state root and monitor.
type Runtime struct {
	Name    string
	Path    string
	Root    string
	Monitor string
	Args    []string // extra global runtime args
	Env     []string // the monitors' environment (monitor_env)

	spare spareMonitor
	exe   *exeCache // runc's sealed copy (nil: none, as for other runtimes)
}

// NewRuntime resolves a handler's binaries. systemdCgroup makes the runtime
// create cgroups through systemd (only where systemd runs).
func NewRuntime(name string, h *config.RuntimeHandler, systemdCgroup bool) (*Runtime, error) {
	path, err := RuntimePath(name, h)
	if err != nil {
		return nil, err
	}
	mon, err := MonitorPath(h)
	if err != nil {
		return nil, err
	}
	r := &Runtime{Name: name, Path: path, Root: h.RuntimeRoot, Monitor: mon,
		Env: config.MonitorEnvironment(h, os.Getenv("PATH"))}
	if systemdCgroup {
		r.Args = append(r.Args, "--systemd-cgroup")
	}
	if filepath.Base(path) == "runc" {
		r.exe = newExeCache(path)
		go func() { r.exe.release(r.exe.acquire()) }() // made ahead of the first create, off the start
	}
	return r, nil
}

func (r *Runtime) globalArgs() []string {
	args := append([]string{}, r.Args...)
	if r.Root != "" {
		args = append(args, "--root", r.Root)
	}
	return args
}

// run executes the runtime and returns its stdout; a failure carries the
// runtime's stderr, which is the message users need.
func (r *Runtime) run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.Path, append(r.globalArgs(), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s %s: %s", r.Name, args[0], msg)
	}
	return stdout.Bytes(), nil
}

// Create starts the container's monitor, which runs "<runtime> create".
func (r *Runtime) Create(ctx context.Context, cfg *monitor.Config) (monitor.StartResult, error) {
	p, err := r.Launch()
	if err != nil {
		return monitor.StartResult{}, err
	}
	return r.CreateWith(ctx, p, cfg)
}

// Launch starts a monitor before its container is prepared, so its start-up
// runs alongside (or takes the one Prelaunch started); CreateWith or Abort
// must follow.
func (r *Runtime) Launch() (*monitor.Pending, error) {
	if p := r.takeSpare(); p != nil {
		return p, nil
	}
	return r.launch()
}

// launch starts a monitor, handing it runc's sealed copy if there is one.
func (r *Runtime) launch() (*monitor.Pending, error) {
	s := r.exe.acquire()
	defer r.exe.release(s)
	return monitor.LaunchExe(r.Monitor, r.Env, s.file())
}

// CreateWith hands cfg to a launched monitor, which runs "<runtime> create".
func (r *Runtime) CreateWith(ctx context.Context, p *monitor.Pending, cfg *monitor.Config) (monitor.StartResult, error) {
	c := *cfg
	c.Runtime, c.RuntimeRoot, c.RuntimeArgs = r.Path, r.Root, r.Args
	defer cgwarm.Hold()() // the runtime moves the container into its cgroup
	res, err := p.Run(ctx, r.withExe(p, c))
	if errors.Is(err, monitor.ErrConfigNotDelivered) {
		// A monitor launched ahead was killed while it waited: it ran
		// nothing, so a fresh one may create the container.
		if p, lerr := r.launch(); lerr == nil {
			return p.Run(ctx, r.withExe(p, c))
		}
	}
	return res, err
}

// withExe is c, telling the monitor to run the create from the sealed copy
// it got at launch if that is still the binary's current copy (a monitor
// launched ahead may predate an upgrade).
func (r *Runtime) withExe(p *monitor.Pending, c monitor.Config) *monitor.Config {
	if p.RuntimeExe() != nil {
		s := r.exe.acquire()
		c.RuntimeExe = s.file() == p.RuntimeExe()
		r.exe.release(s)
	}
	return &c
}

// Kill sends sig to the container's init process.
func (r *Runtime) Kill(ctx context.Context, id string, sig syscall.Signal) error {
	_, err := r.run(ctx, nil, "kill", id, fmt.Sprint(int(sig)))
	if err != nil && (isGone(err) || strings.Contains(err.Error(), "not running") || strings.Contains(err.Error(), "process already finished")) {
		return nil
	}
	return err
}

// State is the runtime's view of a container.
type State struct {
	Status string `json:"status"`
	Pid    int    `json:"pid"`
}

// ErrNotExist is returned by State for a container the runtime does not know.
var ErrNotExist = errors.New("container does not exist in the runtime")

// State asks the runtime for the container's status.
func (r *Runtime) State(ctx context.Context, id string) (*State, error) {
	out, err := r.run(ctx, nil, "state", id)
	if err != nil {
		if isGone(err) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	st := &State{}
	if err := json.Unmarshal(out, st); err != nil {
		return nil, fmt.Errorf("%s state %s: %w", r.Name, id, err)
	}
	return st, nil
}

// Update applies new resources to the running container's cgroup.
func (r *Runtime) Update(ctx context.Context, id string, res *specs.LinuxResources) error {
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = r.run(ctx, data, "update", "--resources", "-", id)
	return err
}

func isGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "does not exist") || strings.Contains(s, "not found")
}

// Listed is one container of the runtime's own list.
type Listed struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

// List returns every container under the handler's runtime root.
func (r *Runtime) List(ctx context.Context) ([]Listed, error) {
	out, err := r.run(ctx, nil, "list", "--format", "json")
	if err != nil {
		return nil, err
	}
	var l []Listed
	if err := json.Unmarshal(out, &l); err != nil {
		return nil, fmt.Errorf("%s list: %w", r.Name, err)
	}
	return l, nil
}
