package framework

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/syncbuf"
)

// Options tune a test daemon.
type Options struct {
	// Config is extra TOML appended to the generated config file.
	Config string
	// DropIn is TOML written as a drop-in (crio.conf.d/50-test.conf), for
	// keys of tables the base config already has.
	DropIn string
	// Args are extra command-line arguments.
	Args []string
	// Env is extra environment.
	Env []string
	// InsecureRegistries are host:port registries reached over plain HTTP.
	InsecureRegistries []string
	// RunTmpfs puts the run and exits dirs on a tmpfs, as /run is on a
	// node (here / holds /run); the benchmarks use it.
	RunTmpfs bool
	// PID1 runs the daemon as the first process of a PID namespace of its
	// own (unshare --pid --mount-proc), as a container's entrypoint runs.
	PID1 bool
}

// NRISocket is the daemon's NRI plugin socket (NRI is on by default, as
// in CRI-O; each daemon has its own socket and plugin dirs).
func (d *Daemon) NRISocket() string { return d.path("nri.sock") }

// Daemon is a running crio under test.
type Daemon struct {
	Dir        string // private root of everything the daemon writes
	Socket     string
	ConfigFile string
	ConfigDir  string
	Runtime    runtimeapi.RuntimeServiceClient
	Image      runtimeapi.ImageServiceClient
	// Bridge and Subnet are this daemon's private CNI network.
	Bridge, Subnet string

	t    testing.TB
	opts Options
	cmd  *exec.Cmd
	logs *syncbuf.Buffer
	done chan struct{}
	conn *grpc.ClientConn
}

// NewDaemon prepares a private directory and config; Start runs it.
func NewDaemon(t testing.TB, opts Options) *Daemon {
	t.Helper()
	RequireRoot(t)
	// On the local disk, not a tmpfs: overlay needs a real upper dir.
	dir, err := os.MkdirTemp("/var/tmp", "crt-") // short: unix socket paths under it must stay < 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{t: t, opts: opts, Dir: dir, Socket: filepath.Join(dir, "crio.sock"),
		ConfigFile: filepath.Join(dir, "crio.conf"), ConfigDir: filepath.Join(dir, "crio.conf.d")}
	for _, sub := range []string{"crio.conf.d", "cni", "cdi", "logs", "exits", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if opts.RunTmpfs {
		for _, sub := range []string{"exits", "run"} {
			if err := syscall.Mount("tmpfs", filepath.Join(dir, sub), "tmpfs", 0, "mode=755"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(d.ConfigFile, []byte(d.baseConfig()+opts.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	d.writeNetwork()
	d.writeRegistries()
	if opts.DropIn != "" {
		if err := os.WriteFile(filepath.Join(d.ConfigDir, "50-test.conf"), []byte(opts.DropIn), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(d.cleanup)
	return d
}

// StartDaemon prepares and starts a daemon and waits until it serves.
func StartDaemon(t testing.TB, opts Options) *Daemon {
	d := NewDaemon(t, opts)
	d.Start()
	return d
}

func (d *Daemon) baseConfig() string {
	return fmt.Sprintf(`[crio]
root = %[1]q
runroot = %[2]q
log_dir = %[3]q
state_dir = %[4]q
version_file = %[5]q
clean_shutdown_file = %[6]q
storage_driver = "vfs"

[crio.api]
listen = %[7]q

[crio.runtime]
log_level = "debug"
cgroup_manager = "cgroupfs"
container_exits_dir = %[8]q
container_attach_socket_dir = %[9]q
namespaces_dir = %[9]q
cdi_spec_dirs = [%[15]q]

[crio.runtime.runtimes.runc]
runtime_root = %[10]q

[crio.network]
network_dir = %[11]q

[crio.image]
signature_policy = %[12]q
registries_conf = %[13]q
registries_conf_dir = %[14]q

[crio.nri]
nri_listen = %[16]q
nri_plugin_dir = %[17]q
nri_plugin_config_dir = %[18]q
`, d.path("storage"), d.path("run/storage"), d.path("logs"), d.path("state"), d.path("run/version"),
		d.path("clean.shutdown"), d.Socket, d.path("exits"), d.path("run"), d.path("run/runc"), d.path("cni"),
		d.path("policy.json"), d.path("registries.conf"), d.path("registries.conf.d"), d.CDIDir(),
		d.path("nri.sock"), d.path("nri/plugins"), d.path("nri/conf.d"))
}

// CDIDir is the daemon's private cdi_spec_dirs entry (instead of the host's
// /etc/cdi and /var/run/cdi).
func (d *Daemon) CDIDir() string { return d.path("cdi") }

// writeRegistries gives the daemon an accept-anything policy and a
// registries.conf that reaches the test registries over plain HTTP.
func (d *Daemon) writeRegistries() {
	policy := `{"default":[{"type":"insecureAcceptAnything"}]}`
	if err := os.WriteFile(d.path("policy.json"), []byte(policy), 0o644); err != nil {
		d.t.Fatal(err)
	}
	var conf strings.Builder
	conf.WriteString("unqualified-search-registries = []\n")
	for _, r := range d.opts.InsecureRegistries {
		fmt.Fprintf(&conf, "\n[[registry]]\nlocation = %q\ninsecure = true\n", r)
	}
	if err := os.WriteFile(d.path("registries.conf"), []byte(conf.String()), 0o644); err != nil {
		d.t.Fatal(err)
	}
	_ = os.MkdirAll(d.path("registries.conf.d"), 0o755)
}

func (d *Daemon) path(p string) string { return filepath.Join(d.Dir, p) }

// Command returns the crio command line for this daemon's config.
func (d *Daemon) Command(args ...string) *exec.Cmd {
	all := append([]string{"--config", d.ConfigFile, "--config-dir", d.ConfigDir}, d.opts.Args...)
	cmd := exec.Command(filepath.Join(Binaries(d.t), "crio"), append(all, args...)...)
	cmd.Env = append(os.Environ(), d.opts.Env...)
	return cmd
}

// SetEnv replaces the extra environment of the next Start (a test arms a
// fault point for one run, then restarts without it).
func (d *Daemon) SetEnv(env ...string) { d.opts.Env = env }

// Start runs the daemon and connects the CRI clients.
func (d *Daemon) Start() {
	d.t.Helper()
	d.logs = &syncbuf.Buffer{}
	d.cmd = d.Command()
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	// Pdeathsig fires when the forking *thread* exits: test helpers that
	// enter pod namespaces (InNetNS) return their threads rather than
	// discard them, so this only fires when the test process dies.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if d.opts.PID1 {
		path, err := exec.LookPath("unshare")
		if err != nil {
			d.t.Fatal(err)
		}
		// unshare blocks TERM while it waits: signals go to its child (see
		// Pid), and its own death takes the namespace along.
		d.cmd.Args = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--", d.cmd.Path}, d.cmd.Args[1:]...)
		d.cmd.Path = path
		d.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", d.Socket); err == nil {
			c.Close()
			break
		}
		select {
		case <-d.done:
			d.t.Fatalf("crio exited at start: %v\n%s", d.cmd.ProcessState, d.Logs())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("crio did not serve within 30s\n%s", d.Logs())
		}
	}
	// 16 MiB replies, as the kubelet accepts.
	conn, err := grpc.NewClient("unix://"+d.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		d.t.Fatal(err)
	}
	d.conn = conn
	d.Runtime = runtimeapi.NewRuntimeServiceClient(conn)
	d.Image = runtimeapi.NewImageServiceClient(conn)
}

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig syscall.Signal) {
	if err := d.signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

// Wait waits for the daemon to exit and returns its exit code.
func (d *Daemon) Wait(timeout time.Duration) int {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.t.Fatalf("crio did not exit within %s\n%s", timeout, d.Logs())
	}
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
	return d.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM and waits; it fails the test on a non-zero exit.
func (d *Daemon) Stop() {
	d.t.Helper()
	d.Signal(syscall.SIGTERM)
	if code := d.Wait(30 * time.Second); code != 0 {
		d.t.Fatalf("crio exited %d\n%s", code, d.Logs())
	}
}

// Kill stops the daemon with SIGKILL, as a crash would.
func (d *Daemon) Kill() {
	d.Signal(syscall.SIGKILL)
	d.Wait(10 * time.Second)
}

// Logs returns everything the daemon wrote so far.
func (d *Daemon) Logs() string { return d.logs.String() }

// WaitLog waits until the daemon's log contains s.
func (d *Daemon) WaitLog(s string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(d.Logs(), s) {
		if time.Now().After(deadline) {
			d.t.Fatalf("log never showed %q:\n%s", s, d.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ctx is a per-call context with a generous timeout.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (d *Daemon) cleanup() {
	if d.cmd != nil && d.cmd.Process != nil {
		select {
		case <-d.done:
		default:
			d.removeAllPods()
			_ = d.signal(syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(15 * time.Second):
				_ = d.cmd.Process.Kill()
				<-d.done
			}
		}
	}
	if d.conn != nil {
		d.conn.Close()
	}
	if d.t.Failed() && d.logs != nil {
		d.t.Logf("crio log:\n%s", d.Logs())
	}
	d.killLeftovers()
	CleanupDir(d.t, d.Dir)
	d.removeBridge()
}

func (d *Daemon) signal(sig syscall.Signal) error {
	if d.opts.PID1 {
		return syscall.Kill(d.Pid(), sig)
	}
	return d.cmd.Process.Signal(sig)
}

// Pid is the daemon's process id; with PID1, the host's id of the
// namespace's first process (the init the daemon runs under).
func (d *Daemon) Pid() int {
	pid := d.cmd.Process.Pid
	if !d.opts.PID1 {
		return pid
	}
	for range 200 { // unshare forks its child right away
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			child, _ := strconv.Atoi(f[0])
			return child
		}
		time.Sleep(10 * time.Millisecond)
	}
	return pid
}
