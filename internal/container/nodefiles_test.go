package container

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/spec"
	"github.com/crio-runtime/crio/pkg/config"
)

func TestReadMountsFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "mounts.conf")
	if err := os.WriteFile(f, []byte("# comment\n\n/usr/share/rhel/secrets:/run/secrets\n /etc/pki \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readMountsFile(f)
	want := []mountEntry{{"/usr/share/rhel/secrets", "/run/secrets"}, {"/etc/pki", "/etc/pki"}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"rel:/x\n", "/x:rel\n", "/x:/\n"} {
		if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readMountsFile(f); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got, err := readMountsFile(filepath.Join(dir, "absent")); err != nil || got != nil {
		t.Errorf("absent file: %v %v", got, err)
	}
}

func TestNodeFilesCopies(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "key"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(src, "loop")); err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(dir, "mounts.conf")
	if err := os.WriteFile(mf, []byte(src+":/run/secrets\n/absent:/run/absent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	ms, err := nodeFiles(bundle, &config.RuntimeConfig{DefaultMountsFile: mf, Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Destination != "/run/secrets" || ms[1].Destination != "/etc/localtime" || !slices.Contains(ms[1].Options, "ro") {
		t.Fatalf("mounts %+v", ms)
	}
	if b, err := os.ReadFile(filepath.Join(ms[0].Source, "sub", "key")); err != nil || string(b) != "k" {
		t.Errorf("secret copy: %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(ms[0].Source, "loop")); err == nil {
		t.Error("symlinked directory copied")
	}
	if _, err := os.Stat(ms[1].Source); err != nil {
		t.Errorf("localtime copy: %v", err)
	}
	if ms, err := nodeFiles(filepath.Join(dir, "b2"), &config.RuntimeConfig{DefaultMountsFile: filepath.Join(dir, "none")}); err != nil || ms != nil {
		t.Errorf("no node files: %v %v", ms, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b2")); err == nil {
		t.Error("bundle created with nothing to copy")
	}
	if _, err := nodeFiles(filepath.Join(dir, "b3"), &config.RuntimeConfig{DefaultMountsFile: filepath.Join(dir, "none"), Timezone: "Nowhere/Zone"}); err == nil {
		t.Error("unknown timezone accepted")
	}
}

func TestApplyHooksPodAnnotationsWin(t *testing.T) {
	dir := t.TempDir()
	body := `{"version":"1.0.0","hook":{"path":"/bin/sh"},"when":{"annotations":{"^a$":"^pod$"}},"stages":["poststop"]}`
	if err := os.WriteFile(filepath.Join(dir, "h.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := &spec.Result{Spec: &specs.Spec{Process: &specs.Process{Args: []string{"sh"}}}}
	applyHooks(res, []string{dir}, map[string]string{"a": "ctr"}, map[string]string{"a": "pod"}, false)
	if res.Spec.Hooks == nil || len(res.Spec.Hooks.Poststop) != 1 {
		t.Fatalf("hooks %+v", res.Spec.Hooks)
	}
	if len(res.HostWarnings) != 1 {
		t.Errorf("warnings %v, want one for bad.json", res.HostWarnings)
	}
}
