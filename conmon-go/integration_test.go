package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crio-runtime/crio/internal/syncbuf"
	"github.com/crio-runtime/crio/pkg/monitor"
)

func TestLogFormatAndExitCode(t *testing.T) {
	c := newCtr(t, []string{"sh", "-c", "echo hello; echo world >&2; echo; printf 'no newline'; exit 3"}, bundleOpts{})
	c.start()
	c.startContainer()
	rec := c.waitExit()
	if rec.ExitCode != 3 || rec.Signal != 0 || rec.OOMKilled || rec.FinishedAt.IsZero() {
		t.Fatalf("exit record %+v", rec)
	}
	got := map[string][]string{}
	for _, r := range readLog(t, c.cfg.LogPath) {
		got[r.stream] = append(got[r.stream], r.tag+" "+r.content)
	}
	wantOut := []string{"F hello", "F ", "P no newline"}
	if strings.Join(got["stdout"], "|") != strings.Join(wantOut, "|") {
		t.Errorf("stdout records %q, want %q", got["stdout"], wantOut)
	}
	if strings.Join(got["stderr"], "|") != "F world" {
		t.Errorf("stderr records %q", got["stderr"])
	}
}

func TestLongLineSplit(t *testing.T) {
	tests := []struct {
		name    string
		lineMax int
		lengths []int // lengths of the lines written
		want    []string
	}{
		{"default max", 0, []int{40000}, []string{"P16384", "P16384", "F7232"}},
		{"boundary", 1000, []int{1000, 1001, 2000, 0}, []string{"F1000", "P1000", "F1", "P1000", "F1000", "F0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var script strings.Builder
			var vars []string
			for i, n := range tc.lengths {
				fmt.Fprintf(&script, "v%d=$(head -c %d /dev/zero | tr '\\0' %c); ", i, n, 'a'+i)
				vars = append(vars, fmt.Sprintf(`"$v%d"`, i))
			}
			fmt.Fprintf(&script, "printf '%%s\\n' %s", strings.Join(vars, " "))
			c := newCtr(t, []string{"sh", "-c", script.String()}, bundleOpts{})
			c.cfg.LogLineMax = tc.lineMax
			c.start()
			c.startContainer()
			if rec := c.waitExit(); rec.ExitCode != 0 {
				t.Fatalf("exit record %+v", rec)
			}
			var got []string
			var joined string
			for _, r := range readLog(t, c.cfg.LogPath) {
				got = append(got, r.tag+strconv.Itoa(len(r.content)))
				joined += r.content
				if r.tag == "F" {
					joined += "\n"
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("records %v, want %v", got, tc.want)
			}
			var want strings.Builder
			for i, n := range tc.lengths {
				want.WriteString(strings.Repeat(string(rune('a'+i)), n) + "\n")
			}
			if joined != want.String() {
				t.Errorf("reassembled output differs")
			}
		})
	}
}

func TestExitBySignal(t *testing.T) {
	c := newCtr(t, []string{"sleep", "1000"}, bundleOpts{})
	c.start()
	c.startContainer()
	c.runcCmd("kill", c.id, "KILL")
	rec := c.waitExit()
	if rec.ExitCode != 137 || rec.Signal != 9 || rec.OOMKilled {
		t.Fatalf("exit record %+v", rec)
	}
}

func TestCreateFailureReported(t *testing.T) {
	c := newCtr(t, []string{"true"}, bundleOpts{})
	if err := os.Remove(filepath.Join(c.cfg.Bundle, "config.json")); err != nil {
		t.Fatal(err)
	}
	_, err := monitor.Start(context.Background(), monitorBinary(t), &c.cfg)
	if err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("want the runtime's error about config.json, got %v", err)
	}
}

// TestSurvivesDaemonExit starts the monitor from a child process that exits
// at once, as a daemon restart would.
func TestSurvivesDaemonExit(t *testing.T) {
	c := newCtr(t, []string{"sh", "-c", "read x; echo got $x"}, bundleOpts{})
	c.cfg.Stdin, c.cfg.StdinOnce = true, true
	cfgPath := filepath.Join(c.dir, "cfg.json")
	data, _ := json.Marshal(&c.cfg)
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "CONMON_GO_FAKE_DAEMON="+cfgPath, "CONMON_GO_BIN="+monitorBinary(t))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fake daemon: %v: %s", err, out)
	}
	if _, err := fmt.Sscanf(string(out), "%d %d", &c.ctrPID, &c.monPID); err != nil {
		t.Fatalf("fake daemon output %q: %v", out, err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.monPID))
	if err != nil {
		t.Fatalf("monitor gone after its daemon exited: %v", err)
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if fields[3] != strconv.Itoa(c.monPID) { // session id
		t.Errorf("monitor session %s, want its own pid %d", fields[3], c.monPID)
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c.monPID)); string(comm) != "conmon-go\n" {
		t.Errorf("monitor process name %q", comm)
	}
	if fields[1] == strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("monitor still a child of the exited daemon")
	}
	c.startContainer()
	var stdout bytes.Buffer
	if err := monitor.Attach(context.Background(), c.cfg.AttachSocket, strings.NewReader("ping\n"), &stdout, nil, nil); err != nil {
		t.Fatal(err)
	}
	if rec := c.waitExit(); rec.ExitCode != 0 {
		t.Fatalf("exit record %+v", rec)
	}
	if stdout.String() != "got ping\n" {
		t.Errorf("attach output %q", stdout.String())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestAttachSeveralClientsAndDetach(t *testing.T) {
	c := newCtr(t, []string{"cat"}, bundleOpts{})
	c.cfg.Stdin = true
	c.start()
	c.startContainer()

	ctxA, cancelA := context.WithCancel(context.Background())
	var outA syncbuf.Buffer
	errA := make(chan error, 1)
	go func() { errA <- monitor.Attach(ctxA, c.cfg.AttachSocket, nil, &outA, nil, nil) }()

	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	var outB syncbuf.Buffer
	inR, inW := io.Pipe()
	errB := make(chan error, 1)
	go func() { errB <- monitor.Attach(ctxB, c.cfg.AttachSocket, inR, &outB, nil, nil) }()

	// Client A may connect after the first lines; keep typing until it sees one.
	waitFor(t, "client A to see output", func() bool {
		_, _ = io.WriteString(inW, "tick\n")
		return strings.Contains(outA.String(), "tick\n")
	})
	_, _ = io.WriteString(inW, "final\n")
	waitFor(t, "both clients to see the last line", func() bool {
		return strings.HasSuffix(outA.String(), "final\n") && strings.HasSuffix(outB.String(), "final\n")
	})
	cancelA()
	if err := <-errA; err != context.Canceled {
		t.Errorf("detached client A: %v", err)
	}
	inW.Close() // not StdinOnce: the container keeps its stdin
	cancelB()
	<-errB
	if _, err := monitor.ReadExit(c.cfg.ExitDir, c.id); err == nil {
		t.Fatal("container exited after clients detached")
	}
	// A new client still reaches the running container.
	ctxC, cancelC := context.WithCancel(context.Background())
	defer cancelC()
	var outC syncbuf.Buffer
	inR2, inW2 := io.Pipe()
	go func() { _ = monitor.Attach(ctxC, c.cfg.AttachSocket, inR2, &outC, nil, nil) }()
	waitFor(t, "a new client to round-trip", func() bool {
		_, _ = io.WriteString(inW2, "again\n")
		return strings.Contains(outC.String(), "again\n")
	})
	inW2.Close()
	c.runcCmd("kill", c.id, "KILL")
	c.waitExit()
	recs := readLog(t, c.cfg.LogPath)
	if len(recs) == 0 || recs[len(recs)-1].content != "again" {
		t.Errorf("log does not end with the last input: %v", recs)
	}
}

func TestAttachStdinOnce(t *testing.T) {
	c := newCtr(t, []string{"cat"}, bundleOpts{})
	c.cfg.Stdin, c.cfg.StdinOnce = true, true
	c.start()
	c.startContainer()
	var stdout, stderr bytes.Buffer
	err := monitor.Attach(context.Background(), c.cfg.AttachSocket, strings.NewReader("ping\npong"), &stdout, &stderr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "ping\npong" || stderr.Len() != 0 {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if rec := c.waitExit(); rec.ExitCode != 0 {
		t.Fatalf("exit record %+v", rec)
	}
}

// TestLaunchBeforeConfig starts the monitor before its config exists, as the
// daemon does while it prepares the bundle, and sends the config later.
func TestLaunchBeforeConfig(t *testing.T) {
	c := newCtr(t, []string{"sh", "-c", "echo late; exit 7"}, bundleOpts{})
	p, err := monitor.Launch(monitorBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	res, err := p.Run(context.Background(), &c.cfg)
	if err != nil {
		t.Fatalf("run: %v (monitor log: %s)", err, c.monitorLog())
	}
	c.ctrPID, c.monPID = res.PID, res.MonitorPID
	if pid, err := monitor.MonitorPID(context.Background(), c.cfg.ControlSocket); err != nil || pid != res.MonitorPID {
		t.Errorf("MonitorPID = %d, %v; want %d", pid, err, res.MonitorPID)
	}
	c.startContainer()
	if rec := c.waitExit(); rec.ExitCode != 7 {
		t.Fatalf("exit record %+v", rec)
	}
}

// TestLaunchAbort: a launched monitor that gets no config exits and leaves
// nothing running.
func TestLaunchAbort(t *testing.T) {
	requireRuntime(t)
	bin := monitorBinary(t)
	p, err := monitor.Launch(bin)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the detached monitor start
	if monitors(bin) == 0 {
		t.Fatal("no detached monitor waiting for its config")
	}
	p.Abort()
	waitFor(t, "the aborted monitor to exit", func() bool { return monitors(bin) == 0 })
}

// monitors counts live detached monitors of binary bin (zombies excluded).
func monitors(bin string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmd, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || !strings.Contains(string(cmd), detachedArg) {
			continue
		}
		exe, _ := os.Readlink(filepath.Join(p, "exe"))
		if exe == bin {
			n++
		}
	}
	return n
}
