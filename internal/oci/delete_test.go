package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/proc"
)

// runcBox is a real runc container under a private root, driven through a
// wrapper named runc that logs each subcommand before running the real one.
type runcBox struct {
	t      *testing.T
	rt     *Runtime
	log    string
	bundle string
}

func newRuncBox(t *testing.T) *runcBox {
	t.Helper()
	real, err := exec.LookPath("runc")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and runc")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	dir := t.TempDir()
	b := &runcBox{t: t, log: filepath.Join(dir, "calls"), bundle: filepath.Join(dir, "bundle")}
	wrapper := filepath.Join(dir, "bin", "runc")
	script := "#!/bin/sh\nfor a; do case $a in -*|/*) ;; *) echo \"$a\" >> " + b.log + "; break;; esac; done\nexec " + real + " \"$@\"\n"
	for _, d := range []string{filepath.Dir(wrapper), filepath.Join(b.bundle, "rootfs", "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/bin/busybox")
	if err == nil {
		err = os.WriteFile(filepath.Join(b.bundle, "rootfs", "bin", "busybox"), data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	b.rt = &Runtime{Name: "runc", Path: wrapper, Root: filepath.Join(dir, "state")}
	return b
}

// run creates and starts container id running script under sh, with its
// own PID namespace unless sharedPID; hooks, if set, go into its spec.
func (b *runcBox) run(id, script string, sharedPID bool, hooks *specs.Hooks) int {
	t := b.t
	t.Helper()
	b.writeSpec(id, script, sharedPID, hooks)
	pid, err := b.rt.CreateUnmonitored(context.Background(), id, b.bundle, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.rt.run(context.Background(), nil, "delete", "--force", id) })
	if _, err := b.rt.run(context.Background(), nil, "start", id); err != nil {
		t.Fatal(err)
	}
	return pid
}

// writeSpec writes the bundle's config.json for run.
func (b *runcBox) writeSpec(id, script string, sharedPID bool, hooks *specs.Hooks) {
	t := b.t
	t.Helper()
	sp := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{Args: []string{"/bin/busybox", "sh", "-c", script}, Cwd: "/",
			Env: []string{"PATH=/bin"}},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Hooks:  hooks,
		Linux: &specs.Linux{
			CgroupsPath: fmt.Sprintf("/crio-oci-delete-test-%s-%d", id, os.Getpid()),
			Namespaces:  []specs.LinuxNamespace{{Type: specs.MountNamespace}},
		},
	}
	if !sharedPID {
		sp.Linux.Namespaces = append(sp.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	data, err := json.Marshal(sp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.bundle, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// cgroups is the container's cgroup directories, from runc's state.
func (b *runcBox) cgroups(id string) []string {
	st, err := readRuncState(filepath.Join(b.rt.Root, id, "state.json"))
	if err != nil {
		b.t.Fatal(err)
	}
	dirs, err := cgroupDirs(st.CgroupPaths)
	if err != nil {
		b.t.Fatal(err)
	}
	return dirs
}

// calls is the runc subcommands run through the wrapper since the last call.
func (b *runcBox) calls() []string {
	data, _ := os.ReadFile(b.log)
	_ = os.Remove(b.log)
	return strings.Fields(string(data))
}

// kill kills pid and waits until it is gone or a zombie.
func (b *runcBox) kill(pid int) {
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 200 && running(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

func running(pid int) bool {
	start, err := proc.StartTime(pid)
	return err == nil && proc.Same(pid, start)
}

func procs(cgroup string) []string {
	data, _ := os.ReadFile(filepath.Join(cgroup, "cgroup.procs"))
	return strings.Fields(string(data))
}

func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func TestDeleteStoppedRuncContainerWithoutRunc(t *testing.T) {
	b := newRuncBox(t)
	pid := b.run("stopped", "exec sleep 1000", false, nil)
	cgs := b.cgroups("stopped")
	b.kill(pid)
	b.calls()
	if err := b.rt.Delete(context.Background(), "stopped"); err != nil {
		t.Fatal(err)
	}
	if c := b.calls(); len(c) != 0 {
		t.Errorf("a stopped container's delete ran runc %v", c)
	}
	if _, err := os.Stat(filepath.Join(b.rt.Root, "stopped")); !os.IsNotExist(err) {
		t.Errorf("runc state directory left: %v", err)
	}
	if left := existing(cgs); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
	// Deleting it again (a retried reap) is not an error.
	if err := b.rt.Delete(context.Background(), "stopped"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestDeleteLeavesRuncWhatOnlyRuncDoes(t *testing.T) {
	b := newRuncBox(t)
	// A live init: runc kills it.
	pid := b.run("live", "exec sleep 1000", false, nil)
	if err := b.rt.Delete(context.Background(), "live"); err != nil {
		t.Fatal(err)
	}
	if c := b.calls(); strings.Join(c, " ") != "create start delete" {
		t.Errorf("runc calls for a live container: %v", c)
	}
	if running(pid) {
		t.Errorf("live container's init %d survived its delete", pid)
	}

	// A process left in the cgroup of a container without its own PID
	// namespace, after its init exited: runc kills it.
	pid = b.run("leftover", "sleep 1000 & exec sleep 1000", true, nil)
	cgs := b.cgroups("leftover")
	for i := 0; i < 200 && len(procs(cgs[0])) < 2; i++ {
		time.Sleep(10 * time.Millisecond) // until the shell started the leftover
	}
	b.kill(pid)
	if len(procs(cgs[0])) != 1 {
		t.Fatalf("want one process left in %s, have %v", cgs[0], procs(cgs[0]))
	}
	b.calls()
	if err := b.rt.Delete(context.Background(), "leftover"); err != nil {
		t.Fatal(err)
	}
	if c := b.calls(); strings.Join(c, " ") != "delete" {
		t.Errorf("runc calls for a stopped container with a process left: %v", c)
	}
	if left := existing(cgs); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}

	// A poststop hook: runc runs it.
	mark := filepath.Join(t.TempDir(), "poststop")
	hooks := &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/busybox", Args: []string{"busybox", "touch", mark}}}}
	pid = b.run("hooked", "exec sleep 1000", false, hooks)
	b.kill(pid)
	b.calls()
	if err := b.rt.Delete(context.Background(), "hooked"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("poststop hook did not run: %v", err)
	}
}
