package image

import (
	"encoding/json"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/test/registry"
)

func TestPullIdentityAndStatus(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "busybox:v1", registry.Image{
		User: "1000", Cmd: []string{"sh"}, Annotations: map[string]string{"org.example/a": "b"},
	})
	e := newEnv(t, r.Addr)
	s := e.start()

	id := mustPull(t, s, r.Ref("busybox:v1"), nil)
	if id != hexOf(p.ConfigDigest) {
		t.Fatalf("image id %s, want config digest %s", id, p.ConfigDigest)
	}
	repo := r.Addr + "/busybox"
	byDigest := repo + "@" + p.ManifestDigest
	for _, ref := range []string{id, id[:12], "sha256:" + id, repo + ":v1", "docker://" + repo + ":v1", byDigest} {
		img := mustStatus(t, s, ref)
		if img == nil || img.Id != id {
			t.Fatalf("status %q = %v, want id %s", ref, img, id)
		}
	}
	// A missing tag: NotFound, naming the source as CRI-O does (transport too).
	_, err := s.Pull(ctxT(t), repo+":missing", nil, nil)
	wantKind(t, err, errdefs.ErrNotFound)
	if !strings.Contains(err.Error(), "initializing source docker://"+repo+":missing") {
		t.Errorf("missing tag: %v", err)
	}
	img := mustStatus(t, s, id)
	if !contains(img.RepoTags, repo+":v1") || !contains(img.RepoDigests, byDigest) {
		t.Errorf("tags %v digests %v", img.RepoTags, img.RepoDigests)
	}
	if img.Uid.GetValue() != 1000 || img.Username != "" || img.Size == 0 {
		t.Errorf("uid %v username %q size %d", img.Uid, img.Username, img.Size)
	}
	if img.Spec.GetAnnotations()["org.example/a"] != "b" {
		t.Errorf("annotations %v", img.Spec.GetAnnotations())
	}
	_, info, err := s.Status(ctxT(t), &runtimeapi.ImageSpec{Image: id}, true)
	if err != nil || !strings.Contains(info["info"], `"Cmd":["sh"]`) {
		t.Fatalf("verbose info %v, %v", info, err)
	}
	// Digest pull and name:tag@digest land on the same image.
	for _, ref := range []string{byDigest, repo + ":v1@" + p.ManifestDigest} {
		if got := mustPull(t, s, ref, nil); got != id {
			t.Fatalf("pull %s = %s, want %s", ref, got, id)
		}
	}
	list, err := s.List(ctxT(t), nil)
	if err != nil || len(list) != 1 || list[0].Id != id {
		t.Fatalf("list = %v, %v", list, err)
	}
	list, err = s.List(ctxT(t), &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: repo + ":v1"}})
	if err != nil || len(list) != 1 {
		t.Fatalf("filtered list = %v, %v", list, err)
	}
	if img := mustStatus(t, s, repo+":nope"); img != nil {
		t.Fatalf("status of absent tag = %v", img)
	}
}

func TestTagsAccumulateAndRemove(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r2 := registry.Start(t, registry.Options{})
	img := registry.Image{User: "app", Users: []registry.User{{Name: "app", UID: 1000, GID: 1000}}}
	r.Push(t, "app:v1", img)
	r.Push(t, "app:v2", img)
	r2.Push(t, "mirror/app:latest", img)
	e := newEnv(t, r.Addr, r2.Addr)
	e.opts.PinnedImages = []string{r2.Addr + "/mirror/*"}
	s := e.start()

	id := mustPull(t, s, r.Ref("app:v1"), nil)
	for _, ref := range []string{r.Ref("app:v2"), r2.Ref("mirror/app")} {
		if got := mustPull(t, s, ref, nil); got != id {
			t.Fatalf("pull %s gave %s, want %s", ref, got, id)
		}
	}
	st := mustStatus(t, s, id)
	want := []string{r.Ref("app:v1"), r.Ref("app:v2"), r2.Ref("mirror/app:latest")}
	for _, w := range want {
		if !contains(st.RepoTags, w) {
			t.Errorf("RepoTags %v lacks %s", st.RepoTags, w)
		}
	}
	if len(st.RepoDigests) < 2 || st.Username != "app" || st.Uid != nil || !st.Pinned {
		t.Errorf("digests %v username %q uid %v pinned %v", st.RepoDigests, st.Username, st.Uid, st.Pinned)
	}
	before := fsBytes(t, s)
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: r.Ref("app:v2")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range append(want, id) {
		if img := mustStatus(t, s, w); img != nil {
			t.Errorf("%s still present after remove by tag", w)
		}
	}
	if after := fsBytes(t, s); after >= before {
		t.Errorf("image fs bytes did not drop: %d -> %d", before, after)
	}
	storeEmpty(t, s)
	// Absent is success.
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: r.Ref("app:v2")}, nil); err != nil {
		t.Fatalf("remove absent: %v", err)
	}
}

func fsBytes(t *testing.T, s *Service) uint64 {
	t.Helper()
	fs, err := s.FsInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.ImageFilesystems) != 1 || len(fs.ContainerFilesystems) != 1 || fs.ImageFilesystems[0].FsId.Mountpoint == "" {
		t.Fatalf("fs info %v", fs)
	}
	return fs.ImageFilesystems[0].UsedBytes.GetValue()
}

func TestFsInfoMoves(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "fs:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	empty := fsBytes(t, s)
	id := mustPull(t, s, r.Ref("fs:v1"), nil)
	full := fsBytes(t, s)
	if full <= empty {
		t.Fatalf("fs bytes did not grow on pull: %d -> %d", empty, full)
	}
	// A container's writable layer shows up as container filesystem usage.
	c, err := s.Store().CreateContainer("", []string{"ctr1"}, id, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: id}, nil), errdefs.ErrFailedPrecondition, "ctr1")
	if err := s.Store().DeleteContainer(c.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: id}, usedBy("web-1")), errdefs.ErrFailedPrecondition, "web-1")
	if err := s.Remove(ctxT(t), &runtimeapi.ImageSpec{Image: id}, usedBy("")); err != nil {
		t.Fatal(err)
	}
	if got := fsBytes(t, s); got != empty {
		t.Fatalf("fs bytes after remove %d, want %d", got, empty)
	}
}

func TestPullMultiArch(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "multi:v1", registry.Image{Platforms: []string{"linux/arm64", "linux/amd64"}})
	s := newEnv(t, r.Addr).start()
	id := mustPull(t, s, r.Ref("multi:v1"), nil)
	if id != hexOf(p.ConfigDigest) {
		t.Fatalf("multi-arch pull gave %s, want this platform's config %s", id, p.ConfigDigest)
	}
	if img := mustStatus(t, s, r.Ref("multi")+"@"+p.Digest); img == nil || img.Id != id {
		t.Fatalf("status by index digest = %v", img)
	}
}

func TestBadInput(t *testing.T) {
	s := newEnv(t).start()
	for _, ref := range []string{
		"", "  ", "oci-archive:/tmp/x.tar", "dir:/tmp/x", "docker-archive:/x.tar", "http://example.com/x",
		"Upper/Case", "a:b:c", "sha256:" + strings.Repeat("a", 64), strings.Repeat("a", 64), "busybox@sha256:123",
	} {
		_, err := s.Pull(ctxT(t), ref, nil, nil)
		wantKind(t, err, errdefs.ErrInvalidArgument)
	}
	_, _, err := s.Status(ctxT(t), &runtimeapi.ImageSpec{Image: ""}, false)
	wantKind(t, err, errdefs.ErrInvalidArgument)
	_, err = s.Pull(ctxT(t), "busybox", &runtimeapi.AuthConfig{Auth: "!!notbase64"}, nil)
	wantKind(t, err, errdefs.ErrInvalidArgument)
	storeEmpty(t, s)
}

func TestVerboseInfoIsJSON(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "v:1", registry.Image{Entrypoint: []string{"/bin/true"}})
	s := newEnv(t, r.Addr).start()
	id := mustPull(t, s, r.Ref("v:1"), nil)
	_, info, err := s.Status(ctxT(t), &runtimeapi.ImageSpec{Image: id}, true)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ImageSpec struct {
			Config struct{ Entrypoint []string }
		}
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.ImageSpec.Config.Entrypoint[0] != "/bin/true" {
		t.Fatalf("info %q: %v", info["info"], err)
	}
}

// usedBy stands for the containers: the one named (if any) uses every image.
type usedBy string

func (u usedBy) ImageInUse(string) (string, bool) { return string(u), u != "" }
func (u usedBy) ReleaseImage(string)              {}
