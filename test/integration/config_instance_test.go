package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

const ignoredWarning = "config keys not read by this runtime"

func countLines(logs, s string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// TestCompatCRIODefaultFileAndOldKeys: CRI-O 1.37's `crio config --default`
// file (keys its template misplaces into the crun table included) with
// drop-ins holding keys of older CRI-O releases and a typo starts the daemon;
// one warning names each unread key with its file, at start and again on
// SIGHUP.
func TestCompatCRIODefaultFileAndOldKeys(t *testing.T) {
	d := compatDaemon(t, readFixture(t, "crio-1.37-config-default.conf"), map[string]string{
		"10-old.conf":  readFixture(t, "old-keys.conf"),
		"20-typo.conf": "[crio.runtime]\ndrop_infra_container = true\n",
	}, framework.Options{})
	d.Start()
	old, typo := filepath.Join(d.ConfigDir, "10-old.conf"), filepath.Join(d.ConfigDir, "20-typo.conf")
	check := func(want int) {
		t.Helper()
		logs := d.Logs()
		if n := countLines(logs, ignoredWarning); n != want {
			t.Fatalf("%d warnings about unread keys, want %d:\n%s", n, want, logs)
		}
		for _, k := range []string{
			old + ": crio.runtime.manage_ns_lifecycle (removed", old + ": crio.runtime.manage_network_ns_lifecycle (removed",
			old + ": crio.image.registries (removed", old + ": crio.file_locking (removed",
			typo + ": crio.runtime.drop_infra_container (unknown key",
		} {
			if !strings.Contains(logs, k) {
				t.Errorf("warning lacks %q", k)
			}
		}
		if strings.Contains(logs, "runtimes.crun.timezone") || strings.Contains(logs, "runtimes.crun.hostnetwork_disable_selinux") {
			t.Errorf("CRI-O's own misplaced defaults must not be reported:\n%s", logs)
		}
	}
	check(1)
	d.Signal(syscall.SIGHUP)
	d.WaitLog("config reloaded", 30*time.Second)
	check(2)
	d.Stop()
}

// withoutInstancePaths drops the per-instance paths the framework sets, so
// the daemon derives them from its own root and runroot.
func withoutInstancePaths(t *testing.T, d *framework.Daemon) {
	t.Helper()
	b, err := os.ReadFile(d.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		k, _, _ := strings.Cut(l, " =")
		switch k {
		case "state_dir", "version_file", "clean_shutdown_file", "container_exits_dir":
			continue
		}
		kept = append(kept, l)
	}
	if err := os.WriteFile(d.ConfigFile, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newEnvDerived is newEnv for a daemon whose per-instance paths are derived
// from its own root and runroot (no state_dir, exits dir or version files
// in its config).
func newEnvDerived(t *testing.T, reg *registry.Registry) *env {
	t.Helper()
	d := framework.NewDaemon(t, framework.Options{InsecureRegistries: []string{reg.Addr}})
	withoutInstancePaths(t, d)
	d.Start()
	e := &env{d: d, reg: reg, image: reg.Addr + "/busybox:test"}
	resp, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	e.imgRef = resp.ImageRef
	return e
}

func podIDs(t *testing.T, d *framework.Daemon) []string {
	t.Helper()
	resp, err := d.Runtime.ListPodSandbox(framework.Ctx(t), &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range resp.Items {
		ids = append(ids, p.Id)
	}
	return ids
}

// TestTwoDaemonsOwnRootsSideBySide: two daemons with their own root and
// runroot and no explicit state_dir keep their state apart: each lists only
// its own pods, a restart of one leaves the other's running container alone,
// and a third daemon on the first one's state is refused naming its pid.
func TestTwoDaemonsOwnRootsSideBySide(t *testing.T) {
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", registry.Image{})
	a, b := newEnvDerived(t, reg), newEnvDerived(t, reg)
	podA, cfgA := a.pod(t, "pod-a")
	ctrA := a.create(t, podA, cfgA, "sleeper", "sleep", "3600")
	a.start(t, ctrA)
	podB, _ := b.pod(t, "pod-b")

	for _, e := range []*env{a, b} {
		if _, err := os.Stat(filepath.Join(e.d.Dir, "storage", "crio", "state", "crio.lock")); err != nil {
			t.Errorf("state not under the daemon's root: %v", err)
		}
		if _, err := os.Stat(filepath.Join(e.d.Dir, "run", "storage", "crio", "exits")); err != nil {
			t.Errorf("exits dir not under the daemon's runroot: %v", err)
		}
	}
	// Restart B: its restore and cleanup must not see A's records.
	b.d.Stop()
	b.d.Start()
	if got := podIDs(t, b.d); len(got) != 1 || got[0] != podB {
		t.Errorf("daemon B lists %v, want only %s", got, podB)
	}
	if got := podIDs(t, a.d); len(got) != 1 || got[0] != podA {
		t.Errorf("daemon A lists %v, want only %s", got, podA)
	}
	if st := a.status(t, ctrA); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("A's container after B restarted: %v %s", st.State, st.Reason)
	}

	// A second daemon on A's state (its own socket) is refused in one line.
	out, err := a.d.Command("--listen", filepath.Join(a.d.Dir, "second.sock")).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := "locked by crio pid " + strconv.Itoa(a.d.Pid())
	if err == nil || !strings.Contains(lines[len(lines)-1], want) {
		t.Fatalf("second daemon on the same state: %v, want a refusal naming %q:\n%s", err, want, out)
	}
	if strings.Contains(string(out), "level=ERROR") || countLines(string(out), "crio:") != 1 {
		t.Errorf("want one error line:\n%s", out)
	}
	if st := a.status(t, ctrA); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("A's container after the refused start: %v", st.State)
	}
}
