package oci

import (
	"os/exec"
	"sync"
	"testing"
	"time"
)

// slowCounter counts bytes and takes its time, so output is still in the
// pipe when the process exits.
type slowCounter struct {
	mu sync.Mutex
	n  int
}

func (c *slowCounter) Write(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	c.mu.Lock()
	c.n += len(p)
	c.mu.Unlock()
	return len(p), nil
}

// Output written just before exit reaches the client even when Wait returns
// first (Wait closes exec.Cmd's own pipes, which lost it).
func TestPipesKeepOutputAfterExit(t *testing.T) {
	const size = 300000
	cmd := exec.Command("sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2")
	var out, errOut slowCounter
	done, _, err := startWithPipes(cmd, Streams{Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("output copies did not finish")
	}
	if out.n != size || errOut.n != size {
		t.Fatalf("stdout %d bytes, stderr %d bytes, want %d each", out.n, errOut.n, size)
	}
}

// Abandoning ends the copies even while another process holds the pipe.
func TestPipesAbandon(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 5 & echo started")
	done, abandon, err := startWithPipes(cmd, Streams{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	abandon()
	select {
	case <-done:
	case <-time.After(2 * time.Second): // the holder lives 5 s
		t.Fatal("abandon did not end the copies")
	}
}
