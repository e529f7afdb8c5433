package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crio-runtime/crio/pkg/monitor"
	"golang.org/x/sys/unix"
)

// cgroupParent holds the test containers' cgroups in every hierarchy.
const cgroupParent = "crio-test-conmon-go"

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	if os.Getenv("CONMON_GO_FAKE_DAEMON") != "" {
		fakeDaemon()
		return
	}
	if os.Geteuid() == 0 {
		// Orphaned monitors come to us, so they are reaped, not left as
		// zombies of a pid 1 that may not reap.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	dirs, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", cgroupParent))
	for _, d := range dirs {
		_ = os.Remove(d)
	}
	os.Exit(code)
}

// fakeDaemon plays a daemon that starts a monitor and exits, leaving the
// monitor without its parent.
func fakeDaemon() {
	var cfg monitor.Config
	data, err := os.ReadFile(os.Getenv("CONMON_GO_FAKE_DAEMON"))
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := monitor.Start(context.Background(), os.Getenv("CONMON_GO_BIN"), &cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d %d\n", res.PID, res.MonitorPID)
	os.Exit(0)
}

func monitorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "conmon-go-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "conmon-go")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func requireRuntime(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox not installed")
	}
	return runc
}

type bundleOpts struct {
	terminal bool
	memLimit int64
}

// ctr is one test container with its monitor.
type ctr struct {
	t       *testing.T
	id      string
	dir     string
	runc    string
	cfg     monitor.Config
	monPID  int
	ctrPID  int
	started bool
}

// newCtr writes a busybox bundle running args and a monitor config for it.
func newCtr(t *testing.T, args []string, o bundleOpts) *ctr {
	t.Helper()
	runc := requireRuntime(t)
	dir := t.TempDir()
	id := fmt.Sprintf("cg%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	c := &ctr{t: t, id: id, dir: dir, runc: runc}
	bundle := filepath.Join(dir, "bundle")
	bin := filepath.Join(bundle, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/bin/busybox")
	if err == nil {
		err = os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"sh", "echo", "cat", "sleep", "head", "tr", "seq", "printf", "stty", "kill", "true"} {
		if err := os.Symlink("busybox", filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(runc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	writeSpec(t, bundle, id, args, o)
	c.cfg = monitor.Config{
		ID:            id,
		Bundle:        bundle,
		Runtime:       runc,
		RuntimeRoot:   filepath.Join(dir, "runc"),
		LogPath:       filepath.Join(dir, "ctr.log"),
		ExitDir:       filepath.Join(dir, "exits"),
		AttachSocket:  filepath.Join(dir, "attach"),
		ControlSocket: filepath.Join(dir, "ctl"),
		PidFile:       filepath.Join(dir, "pid"),
		Terminal:      o.terminal,
		CreateTimeout: time.Minute,
		MonitorLog:    filepath.Join(dir, "monitor.log"),
	}
	if err := os.MkdirAll(c.cfg.ExitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.cleanup)
	return c
}

func writeSpec(t *testing.T, bundle, id string, args []string, o bundleOpts) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	proc := spec["process"].(map[string]any)
	proc["args"] = args
	proc["terminal"] = o.terminal
	spec["root"].(map[string]any)["readonly"] = false
	linux := spec["linux"].(map[string]any)
	linux["cgroupsPath"] = "/" + cgroupParent + "/" + id
	if o.memLimit > 0 {
		res := linux["resources"].(map[string]any)
		res["memory"] = map[string]any{"limit": o.memLimit, "swap": o.memLimit}
	}
	if data, err = json.Marshal(spec); err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (c *ctr) start() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := monitor.Start(ctx, monitorBinary(c.t), &c.cfg)
	if err != nil {
		c.t.Fatalf("monitor start: %v (monitor log: %s)", err, c.monitorLog())
	}
	c.ctrPID, c.monPID = res.PID, res.MonitorPID
}

func (c *ctr) runcCmd(args ...string) {
	c.t.Helper()
	full := append([]string{"--root", c.cfg.RuntimeRoot}, args...)
	if out, err := exec.Command(c.runc, full...).CombinedOutput(); err != nil {
		c.t.Fatalf("runc %v: %v: %s", args, err, out)
	}
}

func (c *ctr) startContainer() {
	c.t.Helper()
	c.runcCmd("start", c.id)
	c.started = true
}

func (c *ctr) monitorLog() string {
	data, _ := os.ReadFile(c.cfg.MonitorLog)
	return string(data)
}

// waitExit polls for the exit record.
func (c *ctr) waitExit() *monitor.ExitRecord {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		rec, err := monitor.ReadExit(c.cfg.ExitDir, c.id)
		if err == nil {
			return rec
		}
		if !errors.Is(err, fs.ErrNotExist) {
			c.t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no exit record for %s (monitor log: %s)", c.id, c.monitorLog())
	return nil
}

func (c *ctr) cleanup() {
	_ = exec.Command(c.runc, "--root", c.cfg.RuntimeRoot, "delete", "--force", c.id).Run()
	if c.monPID > 0 {
		reapMonitor(c.monPID)
	}
}

// reapMonitor waits briefly for a monitor to finish, then kills it, and reaps
// it (it is our child because the test process is a subreaper).
func reapMonitor(pid int) {
	for i := 0; i < 250; i++ {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == pid || err != nil {
			if err != nil && unix.Kill(pid, 0) == nil {
				break // alive but not our child: kill it below
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = unix.Kill(pid, unix.SIGKILL)
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, 0, nil)
}

type logRecord struct {
	ts      time.Time
	stream  string
	tag     string
	content string
}

var recordRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF]) (.*)$`)

// readLog parses CRI log files, failing on any malformed line.
func readLog(t *testing.T, paths ...string) []logRecord {
	t.Helper()
	var recs []logRecord
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatalf("%s does not end with a newline", p)
		}
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if line == "" {
				continue
			}
			m := recordRE.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
			if m == nil {
				t.Fatalf("malformed log line %q", line)
			}
			ts, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, logRecord{ts, m[2], m[3], m[4]})
		}
	}
	return recs
}

// memUsage reads the proportional set size of pid and its anonymous part
// (the cost not shared with other monitors), in KiB.
func memUsage(pid int) (pss, anon int, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch key {
		case "Pss":
			pss = n
		case "Pss_Anon":
			anon = n
		}
	}
	if pss == 0 {
		return 0, 0, errors.New("no Pss line")
	}
	return pss, anon, nil
}
