package container

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containers/storage"
)

func TestPrepareTargets(t *testing.T) {
	t.Run("creates the missing files", func(t *testing.T) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("image\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		prepareTargets(root)
		for _, f := range []string{"hosts", "resolv.conf"} {
			st, err := os.Lstat(filepath.Join(root, "etc", f))
			if err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
				t.Errorf("etc/%s: %v %v", f, st, err)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(root, "etc", "hostname")); string(b) != "image\n" {
			t.Errorf("the image's etc/hostname was changed: %q", b)
		}
	})
	t.Run("stays inside the rootfs", func(t *testing.T) {
		root, outside := t.TempDir(), t.TempDir()
		// An absolute symlink is resolved inside the rootfs, where its
		// target does not exist: nothing is created anywhere.
		if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
			t.Fatal(err)
		}
		prepareTargets(root)
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("files created outside the rootfs: %v", ents)
		}
		// A symlinked file is left as the image has it.
		root2 := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root2, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(outside, "hosts"), filepath.Join(root2, "etc", "hosts")); err != nil {
			t.Fatal(err)
		}
		prepareTargets(root2)
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("files created outside the rootfs through a symlink: %v", ents)
		}
	})
	t.Run("no etc", func(t *testing.T) {
		root := t.TempDir()
		prepareTargets(root)
		if ents, _ := os.ReadDir(root); len(ents) != 0 {
			t.Errorf("created %v in a rootfs without /etc", ents)
		}
	})
}

// deleteStore is a storage.Store whose DeleteContainer waits for release
// and records when it is done; other methods are not expected.
type deleteStore struct {
	storage.Store
	release chan struct{}
	mu      sync.Mutex
	deleted []string
}

func (s *deleteStore) Unmount(string, bool) (bool, error) { return false, nil }

func (s *deleteStore) Container(string) (*storage.Container, error) {
	return nil, storage.ErrContainerUnknown
}

func (s *deleteStore) DeleteContainer(id string) error {
	<-s.release
	s.mu.Lock()
	s.deleted = append(s.deleted, id)
	s.mu.Unlock()
	return nil
}

// An image pushed out of the recent ones loses its spare in the background;
// dropping the image (to remove it) waits for that deletion, as the layer
// holds the image.
func TestSpareDropWaitsForBackgroundDeletion(t *testing.T) {
	st := &deleteStore{release: make(chan struct{})}
	p := newSpares(func() storage.Store { return st }, slog.New(slog.DiscardHandler))
	p.recent = []string{"img0"}
	p.ready["img0"] = spare{id: "layer0"}
	for i := 1; i <= maxSpares; i++ {
		p.refill(fmt.Sprintf("img%d", i)) // first starts: no fill
	}
	if _, ok := p.ready["img0"]; ok {
		t.Fatal("img0 kept its spare beyond the most recent images")
	}
	go func() {
		time.Sleep(100 * time.Millisecond) // drop must not return before this
		close(st.release)
	}()
	p.drop("img0")
	st.mu.Lock()
	deleted := slices.Clone(st.deleted)
	st.mu.Unlock()
	if !slices.Equal(deleted, []string{"layer0"}) {
		t.Errorf("deleted when drop returned: %v, want [layer0]", deleted)
	}
	p.close()
}

// fillStore is a storage.Store on a given disk that counts layer creations
// (and refuses them); other methods are not expected.
type fillStore struct {
	storage.Store
	root    string
	created atomic.Int32
}

func (s *fillStore) GraphRoot() string { return s.root }

func (s *fillStore) CreateContainer(string, []string, string, string, string, *storage.ContainerOptions) (*storage.Container, error) {
	s.created.Add(1)
	return nil, errors.New("test store makes no layers")
}

// No spare is made ahead on a storage disk that is nearly full.
func TestNoSpareOnLowDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	for _, tc := range []struct {
		size string
		want int32
	}{{"32m", 0}, {"256m", 1}} {
		root := t.TempDir()
		if err := syscall.Mount("tmpfs", root, "tmpfs", 0, "size="+tc.size); err != nil {
			t.Skipf("mount tmpfs: %v", err)
		}
		st := &fillStore{root: root}
		p := newSpares(func() storage.Store { return st }, slog.New(slog.DiscardHandler))
		p.refill("img")
		p.refill("img") // started twice: a spare is wanted
		p.mu.Lock()
		done := p.busy["img"]
		p.mu.Unlock()
		if done == nil {
			t.Fatal("no spare fill started")
		}
		<-done
		if n := st.created.Load(); n != tc.want {
			t.Errorf("%s disk: %d layers made, want %d", tc.size, n, tc.want)
		}
		p.close()
		_ = syscall.Unmount(root, syscall.MNT_DETACH)
	}
}
