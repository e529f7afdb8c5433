package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

func crioCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(filepath.Join(framework.Binaries(t), "crio"), args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestVersionCommand: CRI-O's fields, as text and with -j/--json as JSON;
// the git commit is stamped by the Makefile.
func TestVersionCommand(t *testing.T) {
	out, code := crioCmd(t, "version", "-j")
	var info map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil {
		t.Fatalf("crio version -j: exit %d\n%s", code, out)
	}
	for _, k := range []string{"version", "gitCommit", "gitCommitDate", "gitTreeState", "buildDate", "goVersion", "compiler", "platform", "linkmode", "buildTags", "ldFlags", "seccompEnabled", "appArmorEnabled"} {
		if _, ok := info[k]; !ok {
			t.Errorf("crio version -j lacks %q", k)
		}
	}
	if os.Getenv("CRIO_BIN_DIR") != "" { // built by make, which stamps the commit
		if c, _ := info["gitCommit"].(string); !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(c) {
			t.Errorf("gitCommit %q, want the 40-hex commit", c)
		}
	}
	text, code := crioCmd(t, "version")
	if code != 0 || !regexp.MustCompile(`(?m)^GitCommit:\s+\S+$`).MatchString(text) || !strings.Contains(text, "\nBuildTags:\n  containers_image_openpgp\n") {
		t.Errorf("crio version: exit %d\n%s", code, text)
	}
	if j, _ := crioCmd(t, "version", "--json"); j != out {
		t.Errorf("--json and -j differ")
	}
}

// TestUnknownSubcommandFails: an unknown command or subcommand is one error
// line and exit status 1, never the daemon or the parent command.
func TestUnknownSubcommandFails(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"status", "bogus"}, {"status", "info", "bogus"}, {"config", "bogus"}, {"version", "bogus"}, {"wipe", "bogus"}, {"check", "bogus"}, {"man", "bogus"}, {"md", "bogus"}, {"completion", "tcsh"}} {
		out, code := crioCmd(t, append([]string{"-c", "", "-d", ""}, args...)...)
		if code != 1 || len(strings.Split(strings.TrimSpace(out), "\n")) != 1 {
			t.Errorf("crio %s: exit %d, want 1 with one line:\n%s", strings.Join(args, " "), code, out)
		}
	}
}

// TestStatusCommandFormats: CRI-O's `crio status` subcommands, aliases and
// line formats.
func TestStatusCommandFormats(t *testing.T) {
	e := newEnvWith(t, registry.Image{}, framework.Options{})
	podID, podCfg := e.pod(t, "status-pod")
	ctr := e.create(t, podID, podCfg, "status-ctr", "sleep", "3600")
	e.start(t, ctr)
	sock := []string{"status", "--socket", e.d.Socket}
	for _, alias := range []string{"info", "i"} {
		out, code := crioCmd(t, append(sock, alias)...)
		for _, want := range []string{"cgroup driver: cgroupfs\n", "storage driver: vfs\n", "storage graph root: " + filepath.Join(e.d.Dir, "storage") + "\n",
			"storage image: \n", "default GID mappings (format <container>:<host>:<size>):\n", "default UID mappings (format <container>:<host>:<size>):\n"} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("crio status %s lacks %q (exit %d):\n%s", alias, want, code, out)
			}
		}
	}
	for _, alias := range []string{"config", "c"} {
		if out, code := crioCmd(t, append(sock, alias)...); code != 0 || !strings.Contains(out, "\nlisten = \""+e.d.Socket+"\"\n") {
			t.Errorf("crio status %s: exit %d\n%.400s", alias, code, out)
		}
	}
	for _, alias := range []string{"containers", "container", "cs", "s"} {
		out, code := crioCmd(t, append(sock, alias, "--id", ctr)...)
		for _, want := range []string{"name: status-ctr\n", "image: " + e.image + "\n", "labels:\n  c: status-ctr\n", "sandbox: " + podID + "\n", "log path: ", "graph root: ", "ips: 10."} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("crio status %s --id lacks %q (exit %d):\n%s", alias, want, code, out)
			}
		}
		if !regexp.MustCompile(`(?m)^pid: [1-9][0-9]*$`).MatchString(out) {
			t.Errorf("crio status %s --id: no pid:\n%s", alias, out)
		}
	}
	if out, code := crioCmd(t, append(sock, "containers", "-i", "nosuchid")...); code != 1 || !strings.Contains(out, "NotFound") {
		t.Errorf("unknown container: exit %d\n%s", code, out)
	}
}

// TestDocsCommands: CRI-O's man and markdown (md) commands.
func TestDocsCommands(t *testing.T) {
	for args, want := range map[string]string{"man": ".TH crio 8", "markdown": "# NAME", "md": "**--state-dir**"} {
		if out, code := crioCmd(t, args); code != 0 || !strings.Contains(out, want) {
			t.Errorf("crio %s: exit %d, lacks %q", args, code, want)
		}
	}
}
