package pid1

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs Run as the first process of a new PID namespace when a
// test starts this binary that way (helperEnv names the shell script the
// daemon's place takes).
func TestMain(m *testing.M) {
	if script := os.Getenv(helperEnv); script != "" {
		code, err := Run("/bin/sh", []string{"sh", "-c", script})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const helperEnv = "PID1_TEST_SCRIPT"

// asPID1 starts this test binary as PID 1 of a new PID namespace running
// script under Run, and returns it with its stdout.
func asPID1(t *testing.T, script string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a new PID namespace needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+script)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

func readLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() { l, _ := r.ReadString('\n'); got <- strings.TrimSpace(l) }()
	select {
	case l := <-got:
		if l != want {
			t.Fatalf("read %q, want %q", l, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q within 10 s", want)
	}
}

// childrenOf lists pid's children (from the host's /proc) with their
// states.
func childrenOf(t *testing.T, pid int) map[int]string {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		var state string
		ppid := -1
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "State:"); ok {
				state = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "PPid:"); ok {
				ppid, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if ppid == pid {
			out[p] = state
		}
	}
	return out
}

// Orphans handed to PID 1 are reaped (they would stay zombies), HUP
// reaches the child, and its exit code becomes PID 1's.
func TestReapsOrphansForwardsSignals(t *testing.T) {
	cmd, out := asPID1(t, `(sleep 0.2 &); (sleep 0.2 &)
trap 'echo hup' HUP; trap 'exit 7' TERM
echo ready; while :; do sleep 0.05; done`)
	readLine(t, out, "ready")
	init := cmd.Process.Pid
	var kids map[int]string
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		if kids = childrenOf(t, init); len(kids) == 1 {
			break
		}
	}
	if len(kids) != 1 {
		t.Fatalf("children of PID 1 after the orphans exited: %v (want the shell alone)", kids)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	readLine(t, out, "hup")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Fatalf("PID 1 exited %d (%v), want the shell's 7", code, err)
	}
}

// A child ended by a signal shows as 128+n.
func TestSignaledChild(t *testing.T) {
	cmd, _ := asPID1(t, `kill -KILL $$`)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+9 {
		t.Fatalf("PID 1 exited %d, want 137", code)
	}
}

func TestStartError(t *testing.T) {
	if _, err := Run("/nonexistent/crio", []string{"crio"}); err == nil {
		t.Fatal("no error for a missing binary")
	}
}
