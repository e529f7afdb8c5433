package image

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containers/storage"
	"github.com/containers/storage/pkg/archive"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/test/registry"
)

// A layer staged while it downloads (overlay) ends up as the same layer an
// ordinary apply of the downloaded tar makes: the same files with the same
// modes, owners, links, whiteouts and opaque directories, the same root
// directory (the unpack ignores a tar entry for "/"), the same record (save
// the compressed size), and a tar-split
// from which storage rebuilds the exact tar the registry served.
func TestStagedLayersMatchApplied(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "staged:v1", registry.Image{ExtraLayers: [][]registry.TarEntry{
		{
			{Name: "./", Type: tar.TypeDir, Mode: 0o750, UID: 7, GID: 8},
			{Name: "opt/", Type: tar.TypeDir, UID: 1000, GID: 1000},
			{Name: "opt/a", Data: []byte("a"), Mode: 0o4755, UID: 1000, GID: 1001},
			{Name: "opt/hl", Type: tar.TypeLink, Linkname: "opt/a"},
			{Name: "opt/sub/", Type: tar.TypeDir},
			{Name: "opt/sub/x", Data: []byte("x")},
			{Name: "etc/.wh.hostname", UID: 4242},
		},
		{
			{Name: "opt/sub/.wh..wh..opq"},
			{Name: "opt/sub/y", Data: []byte("y"), UID: 3},
			{Name: "opt/.wh.a"},
			{Name: "link", Type: tar.TypeSymlink, Linkname: "opt/sub/y"},
		},
	}})
	ref := r.Ref("staged:v1")
	var trees [2]map[string]string
	var records [2]string
	for k, staged := range []bool{true, false} {
		e := newEnv(t, r.Addr)
		e.opts.Driver = "overlay"
		s := e.start()
		s.staging = staged
		id := mustPull(t, s, ref, nil)
		records[k] = dumpImage(t, s.Store(), id)
		trees[k] = layerTrees(t, s.Store(), e.opts.Root, id)
		if staged {
			if left, _ := os.ReadDir(filepath.Join(e.opts.Root, "overlay", "staging")); len(left) != 0 {
				t.Errorf("a successful pull left %d staging directories", len(left))
			}
		}
	}
	if records[0] != records[1] {
		t.Errorf("records differ\nstaged:  %s\napplied: %s", records[0], records[1])
	}
	for name, want := range trees[1] {
		if got := trees[0][name]; got != want {
			t.Errorf("%s: staged %q, applied %q", name, got, want)
		}
	}
	for name, got := range trees[0] {
		if _, ok := trees[1][name]; !ok {
			t.Errorf("%s: only in the staged layer (%s)", name, got)
		}
	}
	// The cases are there: a whiteout, an opaque directory, a hard link.
	for name, want := range map[string]string{"layer 1:/etc/hostname": "rdev 0", "layer 2:/opt/sub": "overlay.opaque=y", "layer 1:/opt/hl": "nlink 2"} {
		if !strings.Contains(trees[0][name], want) {
			t.Errorf("staged %s is %q, want %q in it", name, trees[0][name], want)
		}
	}
}

// layerTrees renders every layer of image id, bottom first: each file's
// type, mode, owner, size, content digest, link target, device number and
// overlay xattrs, and whether store.Diff rebuilds the layer's exact tar.
func layerTrees(t *testing.T, store storage.Store, root, id string) map[string]string {
	t.Helper()
	img, err := store.Image(id)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*storage.Layer
	for l := img.TopLayer; l != ""; {
		layer, err := store.Layer(l)
		if err != nil {
			t.Fatal(err)
		}
		chain = append([]*storage.Layer{layer}, chain...)
		l = layer.Parent
	}
	out := map[string]string{}
	for n, layer := range chain {
		dir := filepath.Join(root, "overlay", layer.ID, "diff")
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
			out[fmt.Sprintf("layer %d:%s", n, rel)] = describe(t, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := store.Diff("", layer.ID, &storage.DiffOptions{Compression: ptrTo(archive.Uncompressed)})
		if err != nil {
			t.Fatal(err)
		}
		d := digest.Canonical.Digester()
		_, err = io.Copy(d.Hash(), rc)
		rc.Close()
		if err != nil || d.Digest() != layer.UncompressedDigest {
			t.Errorf("layer %d: store.Diff gives %s (%v), want the pulled tar %s", n, d.Digest(), err, layer.UncompressedDigest)
		}
	}
	return out
}

func describe(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	s := fmt.Sprintf("uid %d gid %d mode %s", st.Uid, st.Gid, fi.Mode())
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		s += " -> " + target
	case fi.Mode()&fs.ModeCharDevice != 0:
		s += fmt.Sprintf(" rdev %d", st.Rdev)
	case fi.Mode().IsRegular():
		b, _ := os.ReadFile(p)
		sum := sha256.Sum256(b)
		s += fmt.Sprintf(" size %d nlink %d sha %s", fi.Size(), st.Nlink, hex.EncodeToString(sum[:4]))
	}
	var names []string
	buf := make([]byte, 4096)
	if n, err := unix.Llistxattr(p, buf); err == nil {
		for _, x := range strings.Split(string(buf[:n]), "\x00") {
			if strings.HasPrefix(x, "trusted.overlay.") || strings.HasPrefix(x, "user.overlay.") {
				v := make([]byte, 256)
				m, _ := unix.Lgetxattr(p, x, v)
				names = append(names, x+"="+string(v[:max(m, 0)]))
			}
		}
	}
	sort.Strings(names)
	return s + " " + strings.Join(names, ",")
}

func ptrTo[T any](v T) *T { return &v }

// Staging directories a crash left are removed when the store opens,
// unless another process holds one (storage locks a staging directory
// while it stages into it).
func TestStartRemovesLeftStaging(t *testing.T) {
	e := newEnv(t)
	e.opts.Driver = "overlay"
	base := filepath.Join(e.opts.Root, "overlay", "staging")
	for _, d := range []string{"left/dir/usr", "held/dir/usr"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	lock := filepath.Join(base, "held", "staging.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command(os.Args[0], "-test.run", "^TestHelperHoldsStagingLock$")
	holder.Env = append(os.Environ(), "CRIO_TEST_HOLD_LOCK="+lock)
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("lock holder said %q", line)
	}
	e.start()
	if _, err := os.Stat(filepath.Join(base, "left")); !os.IsNotExist(err) {
		t.Errorf("a left staging directory is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(base, "held", "dir", "usr")); err != nil {
		t.Errorf("a staging directory another process holds was removed: %v", err)
	}
}

// TestHelperHoldsStagingLock is the other process of
// TestStartRemovesLeftStaging: it takes the lock as storage does and waits.
func TestHelperHoldsStagingLock(t *testing.T) {
	lock := os.Getenv("CRIO_TEST_HOLD_LOCK")
	if lock == "" {
		t.Skip("helper process only")
	}
	f, err := os.OpenFile(lock, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

// Two pulls of images sharing their base layer, both staging it and
// reaching its commit together: one stores it, the other finds it stored
// and drops its copy; both images are whole and nothing is left staged.
func TestStagedPullsOfASharedLayer(t *testing.T) {
	if raceDetector {
		// Two pulls read the layer store at once, and storage's lockfile
		// reads its state unlocked by design (LockFile.AssertLocked,
		// storage v1.59.1), which the detector reports.
		t.Skip("containers/storage's lockfile trips the race detector under concurrent readers")
	}
	r := registry.Start(t, registry.Options{})
	for _, name := range []string{"a", "b"} {
		r.Push(t, "shared/"+name+":v1", registry.Image{ExtraLayers: [][]registry.TarEntry{{{Name: name, Data: []byte(name)}}}})
	}
	e := newEnv(t, r.Addr)
	e.opts.Driver = "overlay"
	s := e.start()
	both := make(chan struct{}) // closed once both pulls are at their first commit
	var calls atomic.Int32
	applyHook = func() {
		switch calls.Add(1) {
		case 1:
			select {
			case <-both:
			case <-time.After(20 * time.Second): // never a deadlock
			}
		case 2:
			close(both)
		}
	}
	defer func() { applyHook = nil }()
	commits := stagedCommits.Load()
	ids := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, name := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = s.Pull(ctxT(t), r.Ref("shared/"+name+":v1"), nil, nil)
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("pull %d: %v", i, errs[i])
		}
		layerTrees(t, s.Store(), e.opts.Root, ids[i]) // every layer's tar rebuilds
	}
	if calls.Load() < 2 {
		t.Fatal("the pulls never reached their commits together")
	}
	if n := stagedCommits.Load() - commits; n != 3 {
		t.Errorf("%d staged layers committed, want 3: the shared base once", n)
	}
	if layers, _ := s.Store().Layers(); len(layers) != 3 {
		t.Errorf("%d layers stored, want the shared base and one each", len(layers))
	}
	if left, _ := os.ReadDir(filepath.Join(e.opts.Root, "overlay", "staging")); len(left) != 0 {
		t.Errorf("%d staging directories left", len(left))
	}
}
