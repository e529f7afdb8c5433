package proc

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// startSleep starts a child that sleeps a minute; it is killed and reaped
// at the test's end if the test did not.
func startSleep(t *testing.T) (*exec.Cmd, int, uint64) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	start, err := StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, cmd.Process.Pid, start
}

func TestHandleAlive(t *testing.T) {
	cmd, pid, start := startSleep(t)
	if Open(pid, start+1).Alive() {
		t.Error("a handle with another start time is alive")
	}
	h := Open(pid, start)
	if !h.Names(pid, start) || h.Names(pid, start+1) {
		t.Error("Names")
	}
	if h.fd < 0 {
		t.Fatal("no pidfd")
	}
	if !h.Alive() {
		t.Fatal("running process not alive")
	}
	closed := Open(pid, start)
	closed.Close()
	if !closed.Alive() { // falls back to /proc
		t.Error("closed handle of a running process not alive")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Not yet reaped: a zombie, which counts as gone.
	for i := 0; h.Alive(); i++ {
		if i > 1000 {
			t.Fatal("killed process still alive")
		}
		syscall.Nanosleep(&syscall.Timespec{Nsec: 1e6}, nil)
	}
	if h.fd != -1 {
		t.Error("pidfd kept after the exit was seen")
	}
	if closed.Alive() {
		t.Error("zombie alive through /proc")
	}
	_ = cmd.Wait()
	if h.Alive() || Open(pid, start).Alive() {
		t.Error("reaped process alive")
	}
}

func TestWaitGone(t *testing.T) {
	cmd, pid, start := startSleep(t)
	if WaitGone(pid, start, 20*time.Millisecond) {
		t.Fatal("a running process is gone")
	}
	if !WaitGone(pid, start+1, time.Second) {
		t.Error("another start time is not gone")
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}()
	// Killed while waited for, and not reaped: a zombie is gone.
	if !WaitGone(pid, start, 10*time.Second) {
		t.Fatal("a killed process is not gone")
	}
	_ = cmd.Wait()
	if !WaitGone(pid, start, 0) {
		t.Error("a reaped process is not gone")
	}
}
