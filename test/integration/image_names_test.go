package integration

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestStatusNamesTheSpecsImage: an image stored under two tags, and a
// container created as the kubelet does (by image ID, the pod spec's
// image in user_specified_image), reports the spec's tag, which the
// kubelet shows as the pod's containerStatuses[].image (a pod updated to
// the other tag is otherwise never seen running its new image).
func TestStatusNamesTheSpecsImage(t *testing.T) {
	img := registry.Image{Cmd: []string{"sh"}}
	e := newEnv(t, img)
	e.reg.Push(t, "busybox:second", img)
	second := e.reg.Addr + "/busybox:second"
	ctx := framework.Ctx(t)
	pulled, err := e.d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: second}})
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ImageRef != e.imgRef {
		t.Fatalf("the two tags are two images: %s, %s", pulled.ImageRef, e.imgRef)
	}
	podID, podCfg := e.pod(t, "names")
	for _, want := range []string{second, e.image} {
		resp, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c" + want[len(want)-4:]},
			Image:    &runtimeapi.ImageSpec{Image: pulled.ImageRef, UserSpecifiedImage: want},
			Command:  []string{"true"},
			LogPath:  "c.log",
		}})
		if err != nil {
			t.Fatal(err)
		}
		st := e.status(t, resp.ContainerId)
		if st.Image.GetImage() != want || st.Image.GetUserSpecifiedImage() != want || st.ImageId != e.imgRef {
			t.Errorf("asked for %s: status image %q (user %q), id %s", want, st.Image.GetImage(), st.Image.GetUserSpecifiedImage(), st.ImageId)
		}
	}
}
