package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestCrashDuringImageReap: RemoveImage answers once the image is hidden;
// containers/storage deletes it in the background. A daemon killed before
// that leaves the image stored with a marker naming it: the next start
// deletes it before serving, and a pull after that stores it afresh.
func TestCrashDuringImageReap(t *testing.T) {
	e := newEnv(t, registry.Image{})
	ctx := framework.Ctx(t)
	armFault(e.d, "image-reap")
	stored := func() bool {
		b, err := os.ReadFile(filepath.Join(e.d.Dir, "storage", "vfs-images", "images.json"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), e.imgRef)
	}
	// The daemon may die before or after it answers.
	_, _ = e.d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}})
	if code := e.d.Wait(30 * time.Second); code == 0 {
		t.Fatal("the daemon exited cleanly; it was to crash in the image reap")
	}
	if !stored() {
		t.Fatal("image already deleted at the crash")
	}
	e.d.SetEnv()
	e.d.Start()
	st, err := e.d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: e.image}})
	if err != nil || st.Image != nil {
		t.Fatalf("status after restart: %v %v", st, err)
	}
	if stored() {
		t.Fatal("the interrupted removal was not finished at start")
	}
	resp, err := e.d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}})
	if err != nil || resp.ImageRef != e.imgRef {
		t.Fatalf("pull after restart: %v %v", resp, err)
	}
	if !stored() {
		t.Fatal("pulled image not stored")
	}
}
