package integration

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestFullDiskKeepsExitCodes: with the storage and state disks full (a
// node whose disk filled faster than the kubelet evicts), a running
// container's exit is still recorded with its code, also across a daemon
// restart; creating a container or a pod fails with ResourceExhausted
// (gRPC's code for a full file system), logged as a warning, and leaves no
// IP, pin, runtime container or record; once space is back, containers run
// again.
func TestFullDiskKeepsExitCodes(t *testing.T) {
	e := startOnTmpfs(t, "[crio]\nstorage_driver = \"overlay\"\n", "64m", "storage", "state")
	d, ctx := e.d, framework.Ctx(t)
	disks := []string{filepath.Join(d.Dir, "storage"), filepath.Join(d.Dir, "state")}
	podID, podCfg := e.pod(t, "full")
	late := e.create(t, podID, podCfg, "late", "sh", "-c", "sleep 4; exit 3")
	e.start(t, late)

	for _, dir := range disks {
		fill(t, dir)
	}
	if st := e.waitExited(t, late); st.ExitCode != 3 {
		t.Errorf("exit code on a full disk: %d, want 3", st.ExitCode)
	}
	pins, ips, ctrs := countDir(filepath.Join(d.NamespacesDir(), "netns")), len(allocatedIPs(d)), len(runcList(t, d))

	_, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "more"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"true"}}})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("create on a full disk: %v", err)
	}
	cfg := framework.PodConfig("another")
	_, err = d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("run pod on a full disk: %v", err)
	}
	if n := countDir(filepath.Join(d.NamespacesDir(), "netns")); n != pins {
		t.Errorf("netns pins: %d before the failed calls, %d after", pins, n)
	}
	if n := len(allocatedIPs(d)); n != ips {
		t.Errorf("IP allocations: %d before the failed calls, %d after", ips, n)
	}
	if n := len(runcList(t, d)); n != ctrs {
		t.Errorf("runtime containers: %d before the failed calls, %d after", ctrs, n)
	}
	if n := e.countContainers(t); n != 1 {
		t.Errorf("containers listed: %d, want 1", n)
	}
	if l := grepLines(grepLines(d.Logs(), "method=RunPodSandbox"), "code=ResourceExhausted"); !strings.Contains(l, `level=WARN msg="request failed"`) {
		t.Error("the full disk's RunPodSandbox failure is not logged as a warning")
	}

	// The exit's record could not be written: a restart reads it again from
	// the monitor's exit file.
	d.Stop()
	d.Start()
	if st := e.status(t, late); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 3 {
		t.Errorf("after a restart on a full disk: %v exit code %d, want EXITED 3", st.State, st.ExitCode)
	}
	pods, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("pods after a restart on a full disk: %v %v", pods, err)
	}

	for _, dir := range disks {
		if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
			t.Fatal(err)
		}
	}
	again := e.create(t, podID, podCfg, "again", "sh", "-c", "exit 5")
	e.start(t, again)
	if st := e.waitExited(t, again); st.ExitCode != 5 {
		t.Errorf("exit code with space back: %d, want 5", st.ExitCode)
	}
	d.Stop()
	d.Start()
	if st := e.status(t, late); st.ExitCode != 3 {
		t.Errorf("exit code after the record could be written: %d, want 3", st.ExitCode)
	}
}

// TestFullExitsDiskKeepsExitCode: a container that exits while the exits
// disk is full keeps its code: its monitor stays until the record can be
// written (the container looks running meanwhile, also to a restarted
// daemon), instead of dying and leaving the daemon an unknown code (255,
// ContainerMonitorLost).
func TestFullExitsDiskKeepsExitCode(t *testing.T) {
	e := startOnTmpfs(t, "", "1m", "exits")
	exits := filepath.Join(e.d.Dir, "exits")
	podID, podCfg := e.pod(t, "fullexits")
	id := e.create(t, podID, podCfg, "four", "sh", "-c", "sleep 1; exit 4")
	e.start(t, id)
	fill(t, exits)
	time.Sleep(4 * time.Second) // the exit, then two of the daemon's monitor polls
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("exited on a full exits disk: %v code %d %s %q, want still running", st.State, st.ExitCode, st.Reason, st.Message)
	}
	// A daemon restarted meanwhile finds the waiting monitor alive.
	e.d.Stop()
	e.d.Start()
	time.Sleep(3 * time.Second)
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("after a restart on a full exits disk: %v code %d %s %q, want still running", st.State, st.ExitCode, st.Reason, st.Message)
	}
	if err := os.Remove(filepath.Join(exits, "filler")); err != nil {
		t.Fatal(err)
	}
	if st := e.waitExited(t, id); st.ExitCode != 4 || st.Reason != "Error" {
		t.Errorf("once there is space: code %d reason %s, want 4 Error", st.ExitCode, st.Reason)
	}
}

// TestEvictingTheFillerFreesTheDisk: a container fills the storage disk
// through its own rootfs, as a pod does when the kubelet evicts it for disk
// pressure. Removing it must give the space back (containers/storage alone
// writes its records before it deletes any file, so on a full disk it freed
// nothing), and containers can be created again; with both drivers.
func TestEvictingTheFillerFreesTheDisk(t *testing.T) {
	for _, driver := range []string{"overlay", "vfs"} {
		t.Run(driver, func(t *testing.T) {
			e := startOnTmpfs(t, "[crio]\nstorage_driver = \""+driver+"\"\n", "64m", "storage")
			ctx, disk := framework.Ctx(t), filepath.Join(e.d.Dir, "storage")
			podID, podCfg := e.pod(t, "hog")
			id := e.create(t, podID, podCfg, "hog", "sh", "-c", "dd if=/dev/zero of=/big bs=1M; sleep 3600")
			e.start(t, id)
			waitFor(t, "the disk to fill", func() (bool, string) {
				free := freeBytes(t, disk)
				return free < 1<<20, fmt.Sprintf("%d bytes free", free)
			})
			if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the space to come back", func() (bool, string) {
				free := freeBytes(t, disk)
				return free > 32<<20, fmt.Sprintf("%d bytes free", free)
			})
			podID, podCfg = e.pod(t, "after")
			e.start(t, e.create(t, podID, podCfg, "after", "true"))
			if l := grepLines(e.d.Logs(), "level=ERROR"); l != "" {
				t.Errorf("errors logged:\n%s", l)
			}
		})
	}
}

// TestRemovingAnImageOnAFullDisk: the kubelet's image garbage collection
// on a full storage disk frees space. The daemon keeps a 4 MiB reserve in
// the storage root and releases it for a deletion on a disk with less room
// than that, so containers/storage can rewrite its records.
func TestRemovingAnImageOnAFullDisk(t *testing.T) {
	e := startOnTmpfs(t, "[crio]\nstorage_driver = \"overlay\"\n", "64m", "storage")
	ctx, disk := framework.Ctx(t), filepath.Join(e.d.Dir, "storage")
	if st, err := os.Stat(filepath.Join(disk, "crio-space-reserve")); err != nil || st.Size() != 4<<20 {
		t.Fatalf("no 4 MiB reserve: %v %v", st, err)
	}
	fill(t, disk)
	if _, err := e.d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Fatal(err)
	}
	full := freeBytes(t, disk)
	waitFor(t, "the reserve's release", func() (bool, string) {
		l := grepLines(e.d.Logs(), "released the space reserve")
		return strings.Contains(l, "level=WARN"), l
	})
	waitFor(t, "the image's layers to be deleted", func() (bool, string) {
		free := freeBytes(t, disk)
		return free > full+512<<10, fmt.Sprintf("%d bytes free, %d when full", free, full)
	})
	if l := grepLines(e.d.Logs(), "level=ERROR"); l != "" {
		t.Errorf("errors logged:\n%s", l)
	}
	// The daemon stops cleanly on the full disk (the store's last record
	// write takes the reserve); with the filler gone the reserve is made
	// again, and the image stays deleted across the restart.
	fill(t, disk)
	e.d.Stop()
	if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
		t.Fatal(err)
	}
	e.d.Start()
	if st, err := os.Stat(filepath.Join(disk, "crio-space-reserve")); err != nil || st.Size() != 4<<20 {
		t.Errorf("reserve not made again: %v %v", st, err)
	}
	if l, err := e.d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{}); err != nil || len(l.Images) != 0 {
		t.Errorf("images after a restart: %v %v", l, err)
	}
}

func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// startOnTmpfs starts a daemon (with dropIn) whose dirs (under its Dir)
// are each a tmpfs of size, and pulls the registry's busybox.
func startOnTmpfs(t *testing.T, dropIn, size string, dirs ...string) *env {
	t.Helper()
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", registry.Image{})
	d := framework.NewDaemon(t, framework.Options{InsecureRegistries: []string{reg.Addr}, DropIn: dropIn})
	for _, dir := range dirs {
		dir = filepath.Join(d.Dir, dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=700"); err != nil {
			t.Fatal(err)
		}
	}
	d.Start()
	e := &env{d: d, reg: reg, image: reg.Addr + "/busybox:test"}
	if _, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// fill writes dir/filler until the filesystem is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = io.Copy(f, zeros{})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v", dir, err)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
