package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	line := "1234 (a) b) (c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21\n"
	got, err := parseStartTime([]byte(line))
	if err != nil || got != 987654 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseStartTime([]byte("1 (x) S 1 2")); err == nil {
		t.Error("short line accepted")
	}
}

func TestSame(t *testing.T) {
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !Same(os.Getpid(), start) {
		t.Error("own process not recognised")
	}
	if Same(os.Getpid(), start+1) {
		t.Error("a different start time must not match")
	}
	if Same(0, start) || Same(os.Getpid(), 0) {
		t.Error("zero pid or start time must not match")
	}
}

func TestSignal(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := cmd.Process.Pid
	start, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := Signal(pid, start+1, syscall.SIGKILL); !errors.Is(err, ErrGone) {
		t.Errorf("signal with a wrong start time: %v", err)
	}
	if err := Signal(pid, start, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := Signal(pid, start, syscall.SIGKILL); !errors.Is(err, ErrGone) {
		t.Errorf("signal after exit: %v", err)
	}
}
