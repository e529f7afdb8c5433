package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

const sealedExe = "/memfd:crio-sealed-runc (deleted)"

// exeInode is the inode of the binary process pid runs ("" exe: gone).
func exeInode(t *testing.T, pid int) (string, uint64) {
	t.Helper()
	p := fmt.Sprintf("/proc/%d/exe", pid)
	link, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return link, st.Ino
}

// sealedCopies are the inodes of the sealed runc copies process pid holds.
func sealedCopies(t *testing.T, pid int) map[uint64]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if l, _ := os.Readlink(p); l != sealedExe {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			out[st.Ino] = true
		}
	}
	return out
}

// monitorHolds reports whether a waiting monitor (conmon-go) holds the
// sealed copy with inode ino.
func monitorHolds(ino uint64) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, c := range procs {
		if b, _ := os.ReadFile(c); strings.TrimSpace(string(b)) != "conmon-go" {
			continue
		}
		fds, _ := filepath.Glob(filepath.Join(filepath.Dir(c), "fd", "*"))
		for _, fd := range fds {
			var st syscall.Stat_t
			if l, _ := os.Readlink(fd); strings.Contains(l, "crio-sealed-runc") && syscall.Stat(fd, &st) == nil && st.Ino == ino {
				return true
			}
		}
	}
	return false
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tmp := dst + ".new"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := os.Rename(tmp, dst); err != nil { // as a package upgrade replaces it
		t.Fatal(err)
	}
}

// TestRuncRunsFromSealedCopy: runc's create and exec run from the daemon's
// sealed copy (a created container's "runc init" runs it), and an upgraded
// binary gets a new copy: a monitor launched ahead with the old one does
// not run the next create from it, and the old copy is closed.
func TestRuncRunsFromSealedCopy(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	runc, _ = filepath.EvalSymlinks(runc)
	upg := filepath.Join(t.TempDir(), "runc")
	copyFile(t, runc, upg)
	e := newEnvWith(t, registry.Image{}, framework.Options{
		Config: fmt.Sprintf("\n[crio.runtime.runtimes.upgraded]\nruntime_path = %q\nruntime_root = %q\n", upg, filepath.Join(t.TempDir(), "root")),
	})
	ctx := framework.Ctx(t)

	// The default handler: a created container waits in "runc init", run
	// from the sealed copy; an exec through the copy works.
	podID, podCfg := e.pod(t, "sealed")
	id := e.create(t, podID, podCfg, "c", "sleep", "3600")
	if exe, _ := exeInode(t, verbosePids(t, e, id)[0]); exe != sealedExe {
		t.Errorf("created container's runc init runs %q, want %q", exe, sealedExe)
	}
	e.start(t, id)
	// No copy leaks into the exec'd process.
	res, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "echo out; ls -l /proc/$$/fd | grep -c sealed; true"}, Timeout: 10})
	if err != nil || res.ExitCode != 0 || string(res.Stdout) != "out\n0\n" {
		t.Errorf("exec through the sealed copy: %v %+v stdout %q stderr %q", err, res, res.GetStdout(), res.GetStderr())
	}

	// The upgraded handler: its own copy.
	cfg := framework.PodConfig("upgraded")
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "upgraded")
	resp, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "upgraded"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) (string, uint64) {
		id := e.create(t, resp.PodSandboxId, cfg, name, "sleep", "3600")
		exe, ino := exeInode(t, verbosePids(t, e, id)[0])
		e.start(t, id)
		return exe, ino
	}
	exeA, oldIno := create("a")
	if exeA != sealedExe {
		t.Fatalf("container a runs %q, want %q", exeA, sealedExe)
	}
	if !sealedCopies(t, e.d.Pid())[oldIno] {
		t.Fatalf("container a's copy %d is not the daemon's", oldIno)
	}
	// A monitor is launched ahead for the next create, holding this copy.
	deadline := time.Now().Add(10 * time.Second)
	for !monitorHolds(oldIno) {
		if time.Now().After(deadline) {
			t.Fatal("no monitor launched ahead with the copy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	copyFile(t, runc, upg)
	if _, ino := create("b"); ino == oldIno {
		t.Error("container b ran from the copy of the binary before its upgrade")
	}
	exeC, newIno := create("c")
	copies := sealedCopies(t, e.d.Pid())
	if exeC != sealedExe || newIno == oldIno || !copies[newIno] {
		t.Errorf("container c runs %q (inode %d, old %d), daemon holds %v", exeC, newIno, oldIno, copies)
	}
	if copies[oldIno] || len(copies) != 2 {
		t.Errorf("daemon holds copies %v: want one per handler, the old one (%d) closed", copies, oldIno)
	}
}
