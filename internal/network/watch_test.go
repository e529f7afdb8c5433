package network

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlanFollowsConfDir: the network config is cached, and a change of the
// conf dir (a new first config, the dir appearing late) is picked up.
func TestPlanFollowsConfDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "net.d") // missing at first
	m := NewManager(dir, "", "10.98.0.0/16", nil, filepath.Join(root, "cache"))
	defer m.Close()
	planned := func() string {
		a, err := m.Plan(Pod{ID: "p"})
		if err != nil {
			t.Fatal(err)
		}
		return a.Network
	}
	if got := planned(); got != "crio" {
		t.Fatalf("no conf dir: network %q, want the built-in crio", got)
	}
	write := func(name, net string) {
		body := `{"cniVersion":"1.0.0","name":"` + net + `","plugins":[{"type":"bridge"}]}`
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write("20-b.conflist", "b")
	if got := planned(); got != "b" {
		t.Fatalf("after the dir appeared: network %q, want b", got)
	}
	eventually := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if planned() == want {
				return
			}
		}
		t.Fatalf("network stayed %q, want %q", planned(), want)
	}
	write("10-a.conflist", "a") // now the first config
	eventually("a")
	if err := os.Remove(filepath.Join(dir, "10-a.conflist")); err != nil {
		t.Fatal(err)
	}
	eventually("b")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	eventually("crio")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write("30-c.conflist", "c")
	eventually("c")
}
