package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crio-runtime/crio/test/framework"
)

// TestMakeInstall: binaries and completions go under PREFIX, configuration
// under /etc whatever PREFIX is (staged here with DESTDIR), as in CRI-O.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	dest := t.TempDir()
	cmd := exec.Command("make", "install", "DESTDIR="+dest, "PREFIX=/opt/crio")
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, f := range []string{
		"opt/crio/bin/crio", "opt/crio/bin/conmon-go", "opt/crio/bin/pause",
		"etc/crio/crio.conf", "etc/crio/crio.conf.d", "etc/crictl.yaml", "etc/sysconfig/crio",
		"etc/cni/net.d/10-crio-bridge.conflist", "opt/crio/lib/systemd/system/crio.service",
		"opt/crio/share/bash-completion/completions/crio", "opt/crio/share/zsh/site-functions/_crio",
		"opt/crio/share/fish/vendor_completions.d/crio.fish",
	} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Errorf("not installed: %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "opt/crio/etc")); err == nil {
		t.Error("configuration installed under PREFIX/etc, where the daemon does not read it")
	}
	unit, _ := os.ReadFile(filepath.Join(dest, "opt/crio/lib/systemd/system/crio.service"))
	if !strings.Contains(string(unit), "ExecStart=/opt/crio/bin/crio") || !strings.Contains(string(unit), "KillMode=process") {
		t.Errorf("unit file:\n%s", unit)
	}
	// The installed config is the example, and crio accepts it.
	out, err := exec.Command(filepath.Join(dest, "opt/crio/bin/crio"), "--config", filepath.Join(dest, "etc/crio/crio.conf"), "--config-dir", "", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("installed config rejected: %v\n%s", err, out)
	}
}
