package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestCrashDuringContainerReap: RemoveContainer answers once the record is
// deleted; the runtime delete, the rootfs and the bundle go in the
// background. A daemon killed before that ran leaves a runtime container, a
// storage layer and a bundle no record owns: the next start deletes them,
// and the container stays removed.
func TestCrashDuringContainerReap(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	armFault(e.d, "container-reap")
	podID, podCfg := e.pod(t, "reap")
	id := e.create(t, podID, podCfg, "gone", "sleep", "300")
	e.start(t, id)
	// The daemon may die before or after it answers: the record is gone
	// either way.
	_, _ = e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
	if code := e.d.Wait(30 * time.Second); code == 0 {
		t.Fatal("the daemon exited cleanly; it was to crash in the reap")
	}
	if !slices.Contains(runcList(t, e.d), id) {
		t.Fatalf("runtime container %s already gone at the crash", id)
	}
	// containers/storage lists its containers (with their layers) here.
	layer := func() bool {
		b, err := os.ReadFile(filepath.Join(e.d.Dir, "storage", "vfs-containers", "containers.json"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), id)
	}
	if !layer() {
		t.Fatalf("no storage container of %s to check", id)
	}
	e.d.SetEnv()
	e.d.Start()
	list, err := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(list.Containers) != 0 {
		t.Errorf("containers after restart: %v %v", list, err)
	}
	checkNoLeftovers(t, e.d, []string{id}, nil, false)
	if layer() {
		t.Errorf("storage container %s left", id)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("remove pod: %v", err)
	}
	if _, err := e.d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Errorf("remove image: %v", err)
	}
}
