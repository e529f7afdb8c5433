package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// storageContainers reads the overlay store's container list: id -> metadata.
func storageContainers(t *testing.T, d *framework.Daemon) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, c := range storageRecords(t, d) {
		out[id] = c.Metadata
	}
	return out
}

type storageRecord struct{ ID, Metadata, Layer string }

func storageRecords(t *testing.T, d *framework.Daemon) map[string]storageRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(d.Dir, "storage", "overlay-containers", "containers.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var list []storageRecord
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]storageRecord{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// spareIDs are the storage containers made ahead of use that no CRI
// container claims.
func spareIDs(t *testing.T, d *framework.Daemon) []string {
	t.Helper()
	resp, err := d.Runtime.ListContainers(framework.Ctx(t), &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	claimed := map[string]bool{}
	for _, c := range resp.Containers {
		claimed[c.Id] = true
	}
	var out []string
	for id, md := range storageContainers(t, d) {
		if md == `{"crio-spare-layer":true}` && !claimed[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// waitSpares waits until exactly n spares exist, each ready for a create,
// and returns them. A spare is in the store's list as soon as its layer is
// created, before it is mounted, prepared and offered: the daemon's debug
// line says when it is.
func waitSpares(t *testing.T, d *framework.Daemon, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := spareIDs(t, d)
		logs := d.Logs()
		ready := func(id string) bool { return strings.Contains(logs, `msg="spare layer ready" id=`+id) }
		if len(got) == n && !slices.ContainsFunc(got, func(id string) bool { return !ready(id) }) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("spare layers: %v, want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSpareLayers: with overlay, once containers of an image have started
// twice the daemon keeps one writable layer ready for the image's next
// container, for the most recent images; that container takes it (its id
// becomes the container's), a new one is made after it starts, image
// removal deletes it, and a restart after a crash deletes the one left.
func TestSpareLayers(t *testing.T) {
	e := newEnvWith(t, registry.Image{}, framework.Options{DropIn: "[crio]\nstorage_driver = \"overlay\"\n"})
	d, ctx := e.d, framework.Ctx(t)
	// Five more images: the same layers, distinct configs.
	images := []string{e.image}
	for i := 1; i < 6; i++ {
		name := fmt.Sprintf("busybox:s%d", i)
		e.reg.Push(t, name, registry.Image{Labels: map[string]string{"n": fmt.Sprint(i)}})
		images = append(images, e.reg.Addr+"/"+name)
		if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: images[i]}}); err != nil {
			t.Fatalf("pull %s: %v", images[i], err)
		}
	}
	podID, podCfg := e.pod(t, "spares")
	run := func(name string, cmd ...string) string {
		id := e.create(t, podID, podCfg, name, cmd...)
		e.start(t, id)
		return id
	}

	a := run("a", "sleep", "600")
	time.Sleep(300 * time.Millisecond)
	if got := spareIDs(t, d); len(got) != 0 {
		t.Fatalf("spares after an image's first start: %v", got)
	}
	run("b", "true")
	first := waitSpares(t, d, 1)
	// The files every container bind-mounts over are made in the spare,
	// not by the runtime's create.
	for _, f := range []string{"hosts", "resolv.conf"} {
		p := filepath.Join(d.Dir, "storage", "overlay", storageRecords(t, d)[first[0]].Layer, "diff", "etc", f)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("mount target in the spare layer: %v", err)
		}
	}
	c := run("c", "sh", "-c", "echo hi > /fresh; sleep 600")
	if c != first[0] {
		t.Errorf("third container's id %s, want the spare's %s", c, first[0])
	}
	if next := waitSpares(t, d, 1); next[0] == first[0] {
		t.Errorf("no new spare after the first was taken: %v", next)
	}
	if out, _, code := e.exec(t, c, "cat", "/fresh"); code != 0 || out != "hi\n" {
		t.Errorf("container on the spare layer: %q %d", out, code)
	}
	if _, _, code := e.exec(t, a, "test", "-e", "/fresh"); code == 0 {
		t.Error("a file written by one container is seen by another")
	}

	// Only the most recent images keep one (4 of them).
	for i, img := range images[1:] {
		e.image = img
		run(fmt.Sprintf("img%d-1", i+1), "true")
		run(fmt.Sprintf("img%d-2", i+1), "true")
	}
	waitSpares(t, d, 4)

	// Removing an image no container uses deletes its spare too.
	for i := range images[1:] {
		for _, n := range []string{"-1", "-2"} {
			id := containerByName(t, d, fmt.Sprintf("img%d%s", i+1, n))
			if _, err := d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, img := range images[1:] {
		if _, err := d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
			t.Errorf("remove %s (used only by its spare): %v", img, err)
		}
	}
	if got := spareIDs(t, d); len(got) != 0 {
		t.Errorf("spares after their images were removed: %v", got)
	}

	// A crash leaves a spare behind; the next start deletes it and keeps
	// the layers of containers that took one.
	e.image = images[0]
	run("e1", "true")
	run("e2", "true")
	waitSpares(t, d, 1)
	d.Kill()
	d.Start()
	if got := spareIDs(t, d); len(got) != 0 {
		t.Errorf("spares left by a crash after restart: %v", got)
	}
	if _, ok := storageContainers(t, d)[c]; !ok {
		t.Error("the layer of the container made on a spare was deleted at restart")
	}
	if st := e.status(t, c); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container on a spare after restart: %v", st.State)
	}
	if out, _, code := e.exec(t, c, "cat", "/fresh"); code != 0 || out != "hi\n" {
		t.Errorf("container on a spare after restart: %q %d", out, code)
	}

	// Concurrent starts of one image's containers (each refills the spare and
	// launches a monitor ahead): one spare is left. The creates run one by
	// one: concurrent readers of containers/storage trip the race detector
	// inside its lockfile package (an unlocked read its authors chose).
	run("f1", "true")
	run("f2", "true")
	waitSpares(t, d, 1)
	ids := make([]string, 8)
	for i := range ids {
		ids[i] = e.create(t, podID, podCfg, fmt.Sprintf("p%d", i), "sleep", "600")
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.start(t, id)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			t.Errorf("container %s started concurrently: %v", id, st.State)
		}
	}
	if got := e.d.WaitingMonitors(); len(got) > 1 {
		t.Errorf("monitors waiting after concurrent starts: %v, want at most one", got)
	}

	// A clean stop deletes them.
	spares := waitSpares(t, d, 1)
	d.Stop()
	if md, ok := storageContainers(t, d)[spares[0]]; ok {
		t.Errorf("spare %s (%s) left after a clean stop", spares[0], md)
	}
	d.Start() // so that cleanup removes the pod and its containers
}

func containerByName(t *testing.T, d *framework.Daemon, name string) string {
	t.Helper()
	resp, err := d.Runtime.ListContainers(framework.Ctx(t), &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Containers {
		if c.Metadata.GetName() == name {
			return c.Id
		}
	}
	t.Fatalf("no container named %s", name)
	return ""
}

func waitMonitors(t *testing.T, d *framework.Daemon, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := d.WaitingMonitors()
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitors waiting for a config: %v, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Errorf("%s (pid %d) still runs", what, pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMonitorLaunchedAhead: after a container starts, the daemon launches
// the monitor of the handler's next create, which that create uses; a
// clean stop ends it, and so does a crash of the daemon.
func TestMonitorLaunchedAhead(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "ahead")
	a := e.create(t, podID, podCfg, "a", "sleep", "600")
	if got := e.d.WaitingMonitors(); len(got) != 0 {
		t.Fatalf("monitors waiting before any start: %v", got)
	}
	e.start(t, a)
	ahead := waitMonitors(t, e.d, 1)[0]
	b := e.create(t, podID, podCfg, "b", "sleep", "600")
	if got := verbosePids(t, e, b); got[1] != ahead {
		t.Errorf("monitor of the next create: pid %d, want the one launched ahead (%d)", got[1], ahead)
	}
	e.start(t, b)
	if st := e.status(t, b); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container on the monitor launched ahead: %v", st.State)
	}
	next := waitMonitors(t, e.d, 1)[0]
	if next == ahead {
		t.Error("no new monitor launched after the first was used")
	}

	// One killed while it waits is replaced by a fresh one at create.
	if err := syscall.Kill(next, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, next, "killed monitor")
	k := e.create(t, podID, podCfg, "k", "sleep", "600")
	e.start(t, k)
	if st := e.status(t, k); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container created after its monitor launched ahead was killed: %v", st.State)
	}
	next = waitMonitors(t, e.d, 1)[0]
	e.d.Stop()
	waitGone(t, next, "monitor launched ahead, after a clean stop")
	if !alive(ahead) {
		t.Error("the monitor of a running container ended with the daemon")
	}

	e.d.Start()
	e.start(t, e.create(t, podID, podCfg, "c", "sleep", "600"))
	next = waitMonitors(t, e.d, 1)[0]
	e.d.Kill()
	waitGone(t, next, "monitor launched ahead, after the daemon was killed")
	e.d.Start() // so that cleanup removes the pod and its containers
}
