package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/test/framework"
)

func TestVersionStatusRuntimeConfig(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)

	v, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if v.RuntimeName != "crio" || v.RuntimeApiVersion != "v1" || v.RuntimeVersion == "" {
		t.Errorf("version: %+v", v)
	}

	st, err := d.Runtime.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	conds := map[string]*runtimeapi.RuntimeCondition{}
	for _, c := range st.Status.Conditions {
		conds[c.Type] = c
	}
	if c := conds[runtimeapi.RuntimeReady]; c == nil || !c.Status {
		t.Errorf("RuntimeReady: %+v", c)
	}
	// The conf dir is empty: the built-in bridge network is used, and the
	// Debian plugins make it ready.
	if c := conds[runtimeapi.NetworkReady]; c == nil || !c.Status {
		t.Errorf("NetworkReady: %+v", c)
	}
	if len(st.RuntimeHandlers) != 2 || st.RuntimeHandlers[0].Name != "" || st.RuntimeHandlers[1].Name != "runc" || !st.RuntimeHandlers[1].Features.RecursiveReadOnlyMounts {
		t.Errorf("handlers (the default as \"\", then runc): %+v", st.RuntimeHandlers)
	}
	if !st.Features.SupplementalGroupsPolicy {
		t.Error("SupplementalGroupsPolicy feature not reported")
	}
	if !strings.Contains(st.Info["config"], `"listen":"`+d.Socket+`"`) {
		t.Errorf("verbose status must carry the effective config: %.300s", st.Info["config"])
	}

	rc, err := d.Runtime.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Linux.CgroupDriver != runtimeapi.CgroupDriver_CGROUPFS {
		t.Errorf("cgroup driver %v", rc.Linux.CgroupDriver)
	}

	// An RPC whose issue has not landed says so honestly.
	_, err = d.Runtime.CheckpointContainer(ctx, &runtimeapi.CheckpointContainerRequest{ContainerId: "x"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("CheckpointContainer: %v, want Unimplemented", err)
	}
	d.Stop()
}

func TestNetworkNotReadyWithoutPlugins(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{Args: []string{"--cni-plugin-dir", "/nonexistent"}})
	st, err := d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Status.Conditions {
		if c.Type == runtimeapi.NetworkReady && (c.Status || c.Reason != "NetworkPluginNotReady" || !strings.Contains(c.Message, "not found")) {
			t.Errorf("NetworkReady: %+v", c)
		}
	}
}

func TestSocketPermissionsAndSingleDaemon(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	fi, err := os.Stat(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("socket mode %v uid %d gid %d, want 0660 root:root", fi.Mode(), st.Uid, st.Gid)
	}
	// A second daemon on the same config (socket and state) refuses to start
	// and leaves the first serving; the socket is checked first (a second
	// daemon on the same state and another socket: config_instance_test).
	out, err := d.Command().CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another daemon is serving on "+d.Socket) {
		t.Errorf("second daemon: %v\n%s", err, out)
	}
	if _, err := d.Runtime.Version(framework.Ctx(t), &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("first daemon stopped serving: %v", err)
	}
	// A stale socket (daemon killed) is replaced at the next start.
	d.Kill()
	if _, err := os.Stat(d.Socket); err != nil {
		t.Fatalf("SIGKILL should leave the socket behind: %v", err)
	}
	d.Start()
	if _, err := d.Runtime.Version(framework.Ctx(t), &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("restart over a stale socket: %v", err)
	}
}

// TestSecondDaemonAfterStateLockLost: with the state dir's lock file and
// records deleted under a running daemon (what an `rm -rf` of the state dir
// does first), a second daemon on the same socket used to take a new lock,
// sweep the first one's pod files as owned by no record, and only then find
// the socket served. It now refuses before reading the state.
func TestSecondDaemonAfterStateLockLost(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	id, _ := runPod(t, d, framework.PodConfig("kept"))
	stateDir := filepath.Join(d.Dir, "state")
	podDir := filepath.Join(d.Dir, "run", "storage", "crio", "pods", id)
	if _, err := os.Stat(podDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(stateDir, state.LockFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(stateDir, "pods")); err != nil {
		t.Fatal(err)
	}
	out, err := d.Command().CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another daemon is serving on "+d.Socket) || strings.Contains(string(out), "no record owns") {
		t.Errorf("second daemon: %v\n%s", err, out)
	}
	if _, err := os.Stat(podDir); err != nil {
		t.Errorf("the first daemon's pod files after the refused start: %v", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		d := framework.StartDaemon(t, framework.Options{})
		d.Signal(sig)
		if code := d.Wait(20 * time.Second); code != 0 {
			t.Errorf("%v: exit code %d\n%s", sig, code, d.Logs())
		}
		if _, err := os.Stat(d.Socket); !os.IsNotExist(err) {
			t.Errorf("%v: socket left behind: %v", sig, err)
		}
		if !strings.Contains(d.Logs(), "msg=stopped") {
			t.Errorf("%v: no clean stop logged:\n%s", sig, d.Logs())
		}
	}
}

func TestSighupReload(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	// Asked once before: the verbose config is kept per config, and a
	// reload must not answer the old one.
	st, err := d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{Verbose: true})
	if err != nil || strings.Contains(st.Info["config"], `"pinned_images":["registry.k8s.io/pause*"]`) {
		t.Fatalf("config before the reload: %v %v", err, st.GetInfo())
	}
	drop := `[crio.runtime]
log_level = "warn"
[crio.image]
pinned_images = ["registry.k8s.io/pause*"]
[crio]
log_dir = "/somewhere/else"
`
	if err := os.WriteFile(filepath.Join(d.ConfigDir, "50-reload.conf"), []byte(drop), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Signal(syscall.SIGHUP)
	d.WaitLog(`key=crio.image.pinned_images`, 10*time.Second)
	logs := d.Logs()
	for _, want := range []string{`key=crio.runtime.log_level old=debug new=warn`, `msg="config change needs a restart" key=crio.log_dir`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	st, err = d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.Info["config"]
	if !strings.Contains(cfg, `"pinned_images":["registry.k8s.io/pause*"]`) || strings.Contains(cfg, "/somewhere/else") {
		t.Errorf("reloaded config: %s", cfg)
	}
	// The new level is in force: debug request lines stop.
	before := strings.Count(d.Logs(), "level=DEBUG")
	if _, err := d.Runtime.Version(framework.Ctx(t), &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	if after := strings.Count(d.Logs(), "level=DEBUG"); after != before {
		t.Errorf("debug lines still logged after reload to warn")
	}
	// A broken file keeps the running config.
	if err := os.WriteFile(filepath.Join(d.ConfigDir, "60-bad.conf"), []byte("[crio.runtime]\nlog_level = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Signal(syscall.SIGHUP)
	d.WaitLog("reload failed; keeping the running config", 10*time.Second)
	if _, err := d.Runtime.Version(framework.Ctx(t), &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("daemon stopped after a bad reload: %v", err)
	}
}

func TestSigusr1DumpsStacks(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	d.Signal(syscall.SIGUSR1)
	d.WaitLog("goroutine dump (SIGUSR1)", 10*time.Second)
}

// TestBadInputExitsBeforeTouchingState: a bad flag, key or value makes crio
// exit non-zero with one line naming the problem, creating nothing.
func TestBadInputExitsBeforeTouchingState(t *testing.T) {
	cases := []struct {
		name, conf string
		args       []string
		want       string
	}{
		{"bad flag", "", []string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{"wrong type", "[crio.runtime]\ncgroup_manager = 5\n", nil, `crio.runtime.cgroup_manager`},
		{"bad value", "[crio.runtime]\ncgroup_manager = \"x\"\n", nil, `invalid value "x" for crio.runtime.cgroup_manager`},
		{"bad flag value", "", []string{"--cgroup-manager", "nope"}, `invalid value "nope" for crio.runtime.cgroup_manager`},
		{"missing config", "", []string{"--config", "/nonexistent/crio.conf"}, "config file /nonexistent/crio.conf does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := framework.NewDaemon(t, framework.Options{Args: tc.args})
			if tc.conf != "" {
				if err := os.WriteFile(filepath.Join(d.ConfigDir, "90-bad.conf"), []byte(tc.conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := d.Command().CombinedOutput()
			var ee *exec.ExitError
			if err == nil || !asExit(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("want one line naming %q, got:\n%s", tc.want, out)
			}
			for _, p := range []string{"storage", "state", "crio.sock", "run/storage"} {
				if _, err := os.Stat(filepath.Join(d.Dir, p)); err == nil {
					t.Errorf("%s was created before the config was checked", p)
				}
			}
		})
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

func TestConfigSubcommandReflectsFlags(t *testing.T) {
	d := framework.NewDaemon(t, framework.Options{})
	out, err := d.Command("--root", "/x/root", "--cgroup-manager", "systemd", "config").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nroot = \"/x/root\"\n", "\ncgroup_manager = \"systemd\"\n", "\n# metrics_port = 9090\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("crio config lacks %q", want)
		}
	}
	// What it printed, read back as the only config, reproduces the settings.
	p := filepath.Join(d.Dir, "printed.conf")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := exec.Command(filepath.Join(framework.Binaries(t), "crio"), "--config", p, "--config-dir", "", "config").Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(out) {
		t.Error("crio config output does not round-trip")
	}
	env := exec.Command(filepath.Join(framework.Binaries(t), "crio"), "--config", "", "--config-dir", "", "config")
	env.Env = append(os.Environ(), "CONTAINER_LOG_DIR=/env/logs", "CONTAINERS_REGISTRIES_CONF=/env/registries.conf")
	envOut, err := env.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nlog_dir = \"/env/logs\"\n", "\nregistries_conf = \"/env/registries.conf\"\n"} {
		if !strings.Contains(string(envOut), want) {
			t.Errorf("environment not reflected: lacks %q", want)
		}
	}
}

func TestStatusSubcommand(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	out, err := exec.Command(filepath.Join(framework.Binaries(t), "crio"), "status", "--socket", d.Socket, "config").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "\nlisten = \""+d.Socket+"\"\n") {
		t.Errorf("crio status config:\n%s", out)
	}
	out, err = exec.Command(filepath.Join(framework.Binaries(t), "crio"), "status", "--socket", d.Socket).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RuntimeReady") {
		t.Errorf("crio status: %v\n%s", err, out)
	}
}

func TestStatusListsAndProfileSocket(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{Args: []string{"--enable-profile-unix-socket"}})
	runPod(t, d, framework.PodConfig("listed"))
	crio := filepath.Join(framework.Binaries(t), "crio")
	out, err := exec.Command(crio, "status", "--socket", d.Socket, "pods").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "listed") || !strings.Contains(string(out), "READY") {
		t.Errorf("crio status pods: %v\n%s", err, out)
	}
	prof := filepath.Join(filepath.Dir(d.Socket), "crio-profile.sock")
	if fi, err := os.Stat(prof); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("profile socket: %v %v", fi, err)
	}
	out, err = exec.Command(crio, "status", "--socket", d.Socket, "goroutines").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "goroutine ") {
		t.Errorf("crio status goroutines: %v\n%.300s", err, out)
	}
	out, err = exec.Command(crio, "status", "--socket", d.Socket, "heap").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "heap profile") {
		t.Errorf("crio status heap: %v\n%.300s", err, out)
	}
}
