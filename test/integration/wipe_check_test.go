package integration

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// run runs a crio subcommand with the daemon's config and flags.
func (e *env) run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := e.d.Command(args...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !asExit(err, &ee) {
		t.Fatal(err)
	}
	if ee != nil {
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

func (e *env) counts(t *testing.T) (pods, ctrs, images int) {
	t.Helper()
	ctx := framework.Ctx(t)
	p, err := e.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	i, err := e.d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Items), len(c.Containers), len(i.Images)
}

// stoppedContainer leaves a created, started and stopped container, as a
// reboot would.
func (e *env) stoppedContainer(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, name string) string {
	t.Helper()
	id := e.create(t, podID, podCfg, name, "sleep", "3600")
	e.start(t, id)
	if _, err := e.d.Runtime.StopContainer(framework.Ctx(t), &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestWipeCommand: CRI-O's crio wipe decisions from the version files and
// the clean-shutdown file: nothing while the version is unchanged, the
// containers after a reboot, their images too after an upgrade, the storage
// directory after an unclean shutdown; refused while the daemon runs.
func TestWipeCommand(t *testing.T) {
	persist := filepath.Join(t.TempDir(), "version-persist")
	e := newEnvWith(t, registry.Image{}, framework.Options{Args: []string{"--version-file-persist", persist}})
	versionFile, cleanFile := filepath.Join(e.d.Dir, "run", "version"), filepath.Join(e.d.Dir, "clean.shutdown")
	podID, podCfg := e.pod(t, "wipe-pod")
	ctr := e.stoppedContainer(t, podID, podCfg, "c1")

	if out, code := e.run(t, "wipe"); code != 1 || !strings.Contains(out, "locked by crio pid "+strconv.Itoa(e.d.Pid())) {
		t.Errorf("wipe while the daemon runs: exit %d\n%s", code, out)
	}
	e.d.Stop()
	for _, f := range []string{versionFile, persist, cleanFile, cleanFile + ".supported"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after a clean stop: %v", err)
		}
	}
	if out, code := e.run(t, "wipe"); code != 0 || !strings.Contains(out, "no wipe needed") {
		t.Errorf("unchanged version: exit %d\n%s", code, out)
	}

	// Reboot: the volatile version file is gone; containers go, images stay.
	_ = os.Remove(versionFile)
	if out, code := e.run(t, "wipe"); code != 0 || !strings.Contains(out, "deleted container") || !strings.Contains(out, ctr) || strings.Contains(out, "deleted image") {
		t.Errorf("after a reboot: exit %d\n%s", code, out)
	}
	e.d.Start()
	if p, c, i := e.counts(t); p != 1 || c != 0 || i != 1 {
		t.Errorf("after the reboot wipe: %d pods, %d containers, %d images; want 1, 0, 1", p, c, i)
	}

	// Upgrade: the persistent file holds another minor version.
	e.stoppedContainer(t, podID, podCfg, "c2")
	e.d.Stop()
	_ = os.Remove(versionFile)
	if err := os.WriteFile(persist, []byte(`"0.0.1"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := e.run(t, "wipe"); code != 0 || !strings.Contains(out, "deleted image") {
		t.Errorf("after an upgrade: exit %d\n%s", code, out)
	}
	e.d.Start()
	if _, c, i := e.counts(t); c != 0 || i != 0 {
		t.Errorf("after the upgrade wipe: %d containers, %d images; want 0, 0", c, i)
	}

	// Unclean shutdown and reboot: the storage directory is emptied, once.
	if _, err := e.d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Fatal(err)
	}
	e.d.Kill()
	_ = os.Remove(versionFile)
	if out, code := e.run(t, "wipe"); code != 0 || !strings.Contains(out, "suspected unclean shutdown") {
		t.Errorf("after an unclean shutdown: exit %d\n%s", code, out)
	}
	if out, code := e.run(t, "wipe"); code != 0 || !strings.Contains(out, "already done") {
		t.Errorf("second wipe after an unclean shutdown: exit %d\n%s", code, out)
	}
	e.d.Start()
	if p, _, i := e.counts(t); p != 1 || i != 0 {
		t.Errorf("after the unclean-shutdown wipe: %d pods, %d images; want 1, 0", p, i)
	}
}

// TestCheckCommand: crio check reports a damaged layer (exit 1), --repair
// removes what is damaged, and repairing is refused while the daemon runs.
func TestCheckCommand(t *testing.T) {
	e := newEnv(t, registry.Image{})
	if out, code := e.run(t, "check", "--repair"); code != 1 || !strings.Contains(out, "locked by crio pid") {
		t.Errorf("repair while the daemon runs: exit %d\n%s", code, out)
	}
	e.d.Stop()
	if out, code := e.run(t, "check"); code != 0 {
		t.Fatalf("check of a sound store: exit %d\n%s", code, out)
	}
	// Damage one layer: remove a file from its directory.
	removed := ""
	_ = filepath.WalkDir(filepath.Join(e.d.Dir, "storage", "vfs", "dir"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && removed == "" && d.Type().IsRegular() {
			removed = p
			return os.Remove(p)
		}
		return nil
	})
	if removed == "" {
		t.Fatal("no layer file to damage")
	}
	out, code := e.run(t, "check")
	if code != 1 || !strings.Contains(out, "image errors") {
		t.Fatalf("check of a damaged store (removed %s): exit %d\n%s", removed, code, out)
	}
	if out, code := e.run(t, "check", "-r"); code != 0 {
		t.Fatalf("check --repair: exit %d\n%s", code, out)
	}
	if out, code := e.run(t, "check"); code != 0 {
		t.Errorf("check after repair: exit %d\n%s", code, out)
	}
}
