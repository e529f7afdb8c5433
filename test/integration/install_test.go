package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crio-runtime/crio/test/framework"
)

func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	prefix := t.TempDir()
	cmd := exec.Command("make", "install", "PREFIX="+prefix)
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, f := range []string{
		"bin/crio", "bin/conmon-go", "bin/pause", "etc/crio/crio.conf", "etc/crictl.yaml", "etc/sysconfig/crio",
		"etc/cni/net.d/10-crio-bridge.conflist", "lib/systemd/system/crio.service",
		"share/bash-completion/completions/crio", "share/zsh/site-functions/_crio", "share/fish/vendor_completions.d/crio.fish",
	} {
		if _, err := os.Stat(filepath.Join(prefix, f)); err != nil {
			t.Errorf("not installed: %s", f)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(prefix, "lib/systemd/system/crio.service"))
	if !strings.Contains(string(unit), "ExecStart="+prefix+"/bin/crio") || !strings.Contains(string(unit), "KillMode=process") {
		t.Errorf("unit file:\n%s", unit)
	}
	// The installed config is the example, and crio accepts it.
	out, err := exec.Command(filepath.Join(prefix, "bin/crio"), "--config", filepath.Join(prefix, "etc/crio/crio.conf"), "--config-dir", "", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("installed config rejected: %v\n%s", err, out)
	}
}
