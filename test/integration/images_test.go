package integration

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestImageFeatures is issue 22's image group, one case per CRI-O
// behaviour: which image and image_ref a container reports by ID, ID
// prefix, tag and digest; the three image_volumes modes; the image of an
// image volume mount; the short-name ambiguity error; ImageFsInfo with and
// without imagestore.
func TestImageFeatures(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"image by id, prefix, tag and digest", testImageByIDTagDigest},
		{"image_volumes mkdir", func(t *testing.T) { testImageVolumes(t, "mkdir") }},
		{"image_volumes bind", func(t *testing.T) { testImageVolumes(t, "bind") }},
		{"image_volumes ignore", func(t *testing.T) { testImageVolumes(t, "ignore") }},
		{"image volume mount reports its image", testImageMountStatus},
		{"ambiguous short name", testAmbiguousShortName},
		{"image fs info without imagestore", func(t *testing.T) { testImageFsInfo(t, false) }},
		{"image fs info with imagestore", func(t *testing.T) { testImageFsInfo(t, true) }},
		{"image fs info with imagestore on overlay", func(t *testing.T) { testImageFsInfoDriver(t, true, "overlay") }},
	} {
		t.Run(tc.name, tc.run)
	}
}

// repoDigest is the repo@digest CRI-O reports as a container's image_ref.
func (e *env) repoDigest(t *testing.T) string {
	t.Helper()
	st, err := e.d.Image.ImageStatus(framework.Ctx(t), &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: e.imgRef}})
	if err != nil || st.Image == nil || len(st.Image.RepoDigests) == 0 {
		t.Fatalf("image status: %v %v", st, err)
	}
	d := st.Image.RepoDigests[0]
	if !strings.HasPrefix(d, e.reg.Addr+"/busybox@sha256:") {
		t.Fatalf("repo digest %q", d)
	}
	return d
}

func testImageByIDTagDigest(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "byid")
	digested := e.repoDigest(t)
	for i, ref := range []string{e.imgRef, "sha256:" + e.imgRef, e.imgRef[:12], e.image, digested} {
		id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c", Attempt: uint32(i)},
			Image:    &runtimeapi.ImageSpec{Image: ref},
			Command:  []string{"sleep", "3600"},
		})
		if out, _, code := e.exec(t, id, "echo", "ran"); code != 0 || out != "ran\n" {
			t.Errorf("%s: exec %d %q", ref, code, out)
		}
		st := e.status(t, id)
		// CRI-O: image = the image's first tag, image_ref = its repo
		// digest, image_id = its ID, whatever the request named.
		if st.Image.GetImage() != e.image || st.ImageRef != digested || st.ImageId != e.imgRef {
			t.Errorf("%s: status image %q ref %q id %q; want %q %q %q", ref, st.Image.GetImage(), st.ImageRef, st.ImageId, e.image, digested, e.imgRef)
		}
		list, err := e.d.Runtime.ListContainers(framework.Ctx(t), &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: id}})
		if err != nil || len(list.Containers) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		// ListContainers shows the image as requested, as CRI-O does.
		if c := list.Containers[0]; c.Image.GetImage() != ref || c.ImageRef != digested || c.ImageId != e.imgRef {
			t.Errorf("%s: list image %q ref %q id %q", ref, c.Image.GetImage(), c.ImageRef, c.ImageId)
		}
	}
}

// testImageVolumes runs an image with VOLUME /vol/data and VOLUME
// /escape/x, where /escape is a symlink to a host directory, as a non-root
// user.
func testImageVolumes(t *testing.T, mode string) {
	hostDir := t.TempDir()
	e := newEnvWith(t, registry.Image{
		Volumes:    []string{"/vol/data", "/escape/x"},
		ExtraFiles: []registry.TarEntry{{Name: "escape", Type: tar.TypeSymlink, Linkname: hostDir}},
	}, framework.Options{DropIn: "[crio.image]\nimage_volumes = \"" + mode + "\"\n"})
	podID, podCfg := e.pod(t, "vol-"+mode)
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "vol"},
		Command:  []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			RunAsUser: &runtimeapi.Int64Value{Value: 1234}, RunAsGroup: &runtimeapi.Int64Value{Value: 1234},
		}},
	})
	owner, _, code := e.exec(t, id, "stat", "-c", "%u:%g", "/vol/data")
	mountinfo, _, _ := e.exec(t, id, "cat", "/proc/self/mountinfo")
	mounted := strings.Contains(mountinfo, " /vol/data ")
	if _, err := os.Stat(filepath.Join(hostDir, "x")); err == nil {
		t.Errorf("%s: image volume created through a symlink on the host", mode)
	}
	switch mode {
	case "mkdir":
		// A directory in the container's own layer, given to its user.
		if code != 0 || owner != "1234:1234\n" || mounted {
			t.Errorf("mkdir: /vol/data owner %q (code %d), mounted %v", owner, code, mounted)
		}
		if _, _, code := e.exec(t, id, "touch", "/vol/data/f"); code != 0 {
			t.Error("mkdir: volume not writable by the container user")
		}
	case "bind":
		// A bind mount of a private host directory.
		bundle := e.bundle(t, id)
		if code != 0 || !mounted {
			t.Errorf("bind: /vol/data code %d, mounted %v", code, mounted)
		}
		if err := os.WriteFile(filepath.Join(bundle+"-volumes", "vol/data/f"), []byte("hi\n"), 0o644); err != nil {
			t.Fatalf("bind: host side: %v", err)
		}
		if out, _, _ := e.exec(t, id, "cat", "/vol/data/f"); out != "hi\n" {
			t.Errorf("bind: container sees %q", out)
		}
	case "ignore":
		if code == 0 {
			t.Errorf("ignore: /vol/data exists (owner %q)", owner)
		}
	}
}

// bundle is the container's bundle dir, from verbose status.
func (e *env) bundle(t *testing.T, id string) string {
	t.Helper()
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Bundle string `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Bundle == "" {
		t.Fatalf("verbose info %q: %v", st.Info["info"], err)
	}
	return info.Bundle
}

func testImageMountStatus(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "imgmount")
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "imgmount"},
		Command:  []string{"sleep", "3600"},
		Mounts:   []*runtimeapi.Mount{{ContainerPath: "/img", Image: &runtimeapi.ImageSpec{Image: e.image}, Readonly: true}},
	})
	if _, _, code := e.exec(t, id, "test", "-x", "/img/bin/busybox"); code != 0 {
		t.Error("image volume content missing")
	}
	// CRI-O names the mounted image by ID; image_ref is the ref PullImage
	// returned (critest's KEP-5365 spec).
	m := e.status(t, id).Mounts
	if len(m) != 1 || m[0].Image.GetImage() != e.imgRef || m[0].Image.GetImageRef() != e.imgRef || m[0].ContainerPath != "/img" {
		t.Errorf("status mounts: %+v", m)
	}
}

func testAmbiguousShortName(t *testing.T) {
	d := framework.NewDaemon(t, framework.Options{})
	conf := "unqualified-search-registries = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\nshort-name-mode = \"enforcing\"\n"
	if err := os.WriteFile(filepath.Join(d.Dir, "registries.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Start()
	_, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "busybox:test"}})
	want := "short name mode is enforcing, but image name busybox:test returns ambiguous list"
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), want) {
		t.Errorf("pull of an ambiguous short name: %v; want InvalidArgument with %q", err, want)
	}
}

func testImageFsInfo(t *testing.T, imagestore bool) { testImageFsInfoDriver(t, imagestore, "vfs") }

func testImageFsInfoDriver(t *testing.T, imagestore bool, driver string) {
	opts := framework.Options{DropIn: "[crio]\nstorage_driver = \"" + driver + "\"\n"}
	store := filepath.Join(t.TempDir(), "imagestore")
	if imagestore {
		opts.DropIn += "imagestore = \"" + store + "\"\n"
	}
	e := newEnvWith(t, registry.Image{}, opts)
	podID, podCfg := e.pod(t, "fsinfo")
	e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "fs"},
		Command:  []string{"sh", "-c", "head -c 300000 /dev/zero > /big; sleep 3600"},
	})
	r, err := e.d.Image.ImageFsInfo(framework.Ctx(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil || len(r.ImageFilesystems) != 1 || len(r.ContainerFilesystems) != 1 {
		t.Fatalf("ImageFsInfo: %v %v", r, err)
	}
	im, ct := r.ImageFilesystems[0], r.ContainerFilesystems[0]
	root := filepath.Join(e.d.Dir, "storage")
	wantImg, wantCtr := filepath.Join(root, driver+"-images"), filepath.Join(root, driver+"-images")
	if imagestore {
		wantImg, wantCtr = filepath.Join(store, driver+"-images"), filepath.Join(root, driver+"-containers")
		layers := filepath.Join(store, "vfs", "dir")
		if driver != "vfs" {
			layers = filepath.Join(store, driver)
		}
		// The image's layers are stored, and measured, under imagestore.
		if ents, err := os.ReadDir(layers); err != nil || len(ents) == 0 {
			t.Errorf("no image layers under imagestore: %v %v", ents, err)
		}
	}
	if im.FsId.GetMountpoint() != wantImg || ct.FsId.GetMountpoint() != wantCtr {
		t.Errorf("fs ids: images %q containers %q; want %q %q", im.FsId.GetMountpoint(), ct.FsId.GetMountpoint(), wantImg, wantCtr)
	}
	if im.UsedBytes.GetValue() < 500_000 || im.InodesUsed.GetValue() == 0 || ct.InodesUsed.GetValue() == 0 {
		t.Errorf("usage: images %d bytes %d inodes, containers %d bytes %d inodes",
			im.UsedBytes.GetValue(), im.InodesUsed.GetValue(), ct.UsedBytes.GetValue(), ct.InodesUsed.GetValue())
	}
}
