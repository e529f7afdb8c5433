package image

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/containers/storage"
	digest "github.com/opencontainers/go-digest"

	"github.com/crio-runtime/crio/test/registry"
)

// TestContainerNames: ContainerStatus.image and image_ref as CRI-O reports
// them for an image known by tag, by digest only, and by ID only.
func TestContainerNames(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	d := digest.Digest("sha256:" + id[:60] + "ffff")
	tests := []struct {
		name     string
		img      storage.Image
		wantName string
		wantRef  string
	}{
		{"tag and digest", storage.Image{ID: id, Names: []string{"reg:5000/app:v1", "reg:5000/app:v2"}, Digest: d},
			"reg:5000/app:v1", "reg:5000/app@" + d.String()},
		{"digest name only", storage.Image{ID: id, Names: []string{"reg:5000/app@" + d.String()}, Digest: d},
			"reg:5000/app@" + d.String(), "reg:5000/app@" + d.String()},
		{"short docker name", storage.Image{ID: id, Names: []string{"busybox:latest"}, Digest: d},
			"docker.io/library/busybox:latest", "docker.io/library/busybox@" + d.String()},
		{"id only", storage.Image{ID: id}, "", id},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tags, digests := repoNames(&tc.img)
			name, ref := containerNames(tc.img.ID, tags, digests)
			if name != tc.wantName || ref != tc.wantRef {
				t.Errorf("containerNames = %q, %q; want %q, %q", name, ref, tc.wantName, tc.wantRef)
			}
		})
	}
}

// TestPreferUserSpecifiedImage: the status names the image as the pod's
// spec did when that is one of its names (an image under two tags, or in
// two repositories); another name leaves the default.
func TestPreferUserSpecifiedImage(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	d := digest.Digest("sha256:" + id[:60] + "ffff")
	img := storage.Image{ID: id, Names: []string{"reg:5000/a/app:2.55", "reg:5000/a/app:2.66", "mirror/b/app:1", "mirror/b/app@" + d.String(), "reg:5000/a/app@" + d.String()}, Digest: d}
	tests := []struct{ user, wantName, wantRef string }{
		{"", "reg:5000/a/app:2.55", "docker.io/mirror/b/app@" + d.String()},
		{"reg:5000/a/app:2.66", "reg:5000/a/app:2.66", "reg:5000/a/app@" + d.String()},
		{"mirror/b/app:1", "docker.io/mirror/b/app:1", "docker.io/mirror/b/app@" + d.String()},
		{"reg:5000/a/app@" + d.String(), "reg:5000/a/app:2.55", "reg:5000/a/app@" + d.String()},
		{"reg:5000/a/app:2.66@" + d.String(), "reg:5000/a/app:2.66", "reg:5000/a/app@" + d.String()},
		{"reg:5000/a/app:9.9", "reg:5000/a/app:2.55", "reg:5000/a/app@" + d.String()},
		{"other/x:1", "reg:5000/a/app:2.55", "docker.io/mirror/b/app@" + d.String()},
		{"sha256:" + id, "reg:5000/a/app:2.55", "docker.io/mirror/b/app@" + d.String()},
		{"Not A Name", "reg:5000/a/app:2.55", "docker.io/mirror/b/app@" + d.String()},
	}
	for _, tc := range tests {
		ci := &ContainerImage{ID: id}
		ci.tags, ci.digests = repoNames(&img)
		ci.Name, ci.Ref = containerNames(id, ci.tags, ci.digests)
		ci.Prefer(tc.user)
		if ci.Name != tc.wantName || ci.Ref != tc.wantRef {
			t.Errorf("Prefer(%q): %q, %q; want %q, %q", tc.user, ci.Name, ci.Ref, tc.wantName, tc.wantRef)
		}
	}
}

// TestForContainerByIDTagDigest resolves one pulled image by full ID, ID
// prefix, tag and digest: all name the same image and report the same
// image and image_ref.
func TestForContainerByIDTagDigest(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "ids/app:v1", registry.Image{})
	s := newEnv(t, r.Addr).start()
	id := mustPull(t, s, r.Ref("ids/app:v1"), nil)
	wantRef := r.Ref("ids/app") + "@" + p.Digest
	for _, in := range []string{id, "sha256:" + id, id[:12], r.Ref("ids/app:v1"), wantRef} {
		img, err := s.ForContainer(ctxT(t), in)
		if err != nil {
			t.Fatalf("ForContainer(%s): %v", in, err)
		}
		if img.ID != id || img.Name != r.Ref("ids/app:v1") || img.Ref != wantRef {
			t.Errorf("ForContainer(%s) = id %s name %s ref %s; want %s %s %s", in, img.ID, img.Name, img.Ref, id, r.Ref("ids/app:v1"), wantRef)
		}
	}
}

// TestFsInfoImageStore: with an image store, image layers are measured
// under it and the two filesystems carry CRI-O's ids; without one, both
// name <root>/<driver>-images.
func TestFsInfoImageStore(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "fs:v1", registry.Image{})
	for _, split := range []bool{false, true} {
		e := newEnv(t, r.Addr)
		if split {
			e.opts.ImageStore = filepath.Join(e.dir, "imagestore")
		}
		s := e.start()
		id := mustPull(t, s, r.Ref("fs:v1"), nil)
		if _, err := s.Store().CreateContainer("", []string{"c1"}, id, "", "", nil); err != nil {
			t.Fatal(err)
		}
		fs, err := s.FsInfo(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		drv := e.opts.Driver
		wantImg := filepath.Join(e.opts.Root, drv+"-images")
		wantCtr := wantImg
		if split {
			wantImg = filepath.Join(e.opts.ImageStore, drv+"-images")
			wantCtr = filepath.Join(e.opts.Root, drv+"-containers")
		}
		im, ct := fs.ImageFilesystems[0], fs.ContainerFilesystems[0]
		if im.FsId.Mountpoint != wantImg || ct.FsId.Mountpoint != wantCtr {
			t.Errorf("split=%v: mountpoints %s, %s; want %s, %s", split, im.FsId.Mountpoint, ct.FsId.Mountpoint, wantImg, wantCtr)
		}
		// busybox-static is about a megabyte; the recorded diff size
		// fallback would also be non-zero, so require the inode count the
		// walk produces.
		if im.UsedBytes.GetValue() < 500_000 || im.InodesUsed.GetValue() == 0 {
			t.Errorf("split=%v: image fs %d bytes %d inodes", split, im.UsedBytes.GetValue(), im.InodesUsed.GetValue())
		}
	}
}

// TestImageStoreMustDifferFromRoot: containers/storage would mix both
// stores in one tree.
func TestImageStoreMustDifferFromRoot(t *testing.T) {
	for _, is := range []string{"relative/dir", "ROOT", "ROOT/"} {
		e := newEnv(t)
		e.opts.ImageStore = strings.ReplaceAll(is, "ROOT", e.opts.Root)
		if s, err := New(e.opts); err == nil {
			_, _ = s.Store().Shutdown(true)
			t.Errorf("imagestore %q accepted", e.opts.ImageStore)
		}
	}
}
