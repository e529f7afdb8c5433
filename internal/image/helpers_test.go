package image

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containers/storage/pkg/reexec"
	"github.com/crio-runtime/crio/internal/errdefs"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestMain(m *testing.M) {
	// containers/storage re-executes this binary to unpack layers in a chroot.
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// testEnv is a private store plus the config files a test writes.
type testEnv struct {
	t    testing.TB
	dir  string
	opts Options
	svc  *Service
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for containers/storage")
	}
}

// newEnv prepares options for a private vfs store (CRIO_TEST_DRIVER can
// select overlay); registries.conf marks the given registries insecure.
func newEnv(t testing.TB, insecure ...string) *testEnv {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	e := &testEnv{t: t, dir: dir}
	driver := os.Getenv("CRIO_TEST_DRIVER")
	if driver == "" {
		driver = "vfs"
	}
	e.opts = Options{
		Root:              filepath.Join(dir, "root"),
		RunRoot:           filepath.Join(dir, "runroot"),
		Driver:            driver,
		RegistriesConfDir: filepath.Join(dir, "registries.conf.d"),
		SignaturePolicy:   e.writeFile("policy.json", `{"default":[{"type":"insecureAcceptAnything"}]}`),
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := os.MkdirAll(e.opts.RegistriesConfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := ""
	for _, r := range insecure {
		conf += fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n\n", r)
	}
	e.opts.RegistriesConf = e.writeFile("registries.conf", conf)
	return e
}

func (e *testEnv) writeFile(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start opens the service; cleanup waits for background removals, shuts
// the store down hard and unmounts anything left below the test directory.
func (e *testEnv) start() *Service {
	e.t.Helper()
	s, err := New(e.opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.svc = s
	e.t.Cleanup(func() {
		s.waitReapsDone() // a background removal must not outlive the store,
		s.reaps.wg.Wait() // nor wait out its delay after a failed test
		_, _ = s.Store().Shutdown(true)
		unmountUnder(e.dir)
	})
	return s
}

func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mps []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			mps = append(mps, fields[4])
		}
	}
	for i := len(mps) - 1; i >= 0; i-- {
		_ = unix.Unmount(mps[i], unix.MNT_DETACH)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustPull(t testing.TB, s *Service, ref string, auth *runtimeapi.AuthConfig) string {
	t.Helper()
	id, err := s.Pull(ctxT(t), ref, auth, nil)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return id
}

func wantKind(t testing.TB, err, kind error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v error, got nil", kind)
	}
	if got := errdefs.Kind(err); got != kind {
		t.Fatalf("want kind %v, got %v (%v)", kind, got, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not mention %q", err, c)
		}
	}
}

func mustStatus(t testing.TB, s *Service, ref string) *runtimeapi.Image {
	t.Helper()
	img, _, err := s.Status(ctxT(t), &runtimeapi.ImageSpec{Image: ref}, false)
	if err != nil {
		t.Fatalf("status %s: %v", ref, err)
	}
	return img
}

// storeEmpty fails unless the store has no images and no layers.
func storeEmpty(t testing.TB, s *Service) {
	t.Helper()
	s.waitReapsDone()
	imgs, err := s.Store().Images()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := s.Store().Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 || len(layers) != 0 {
		t.Fatalf("store not empty: %d images, %d layers", len(imgs), len(layers))
	}
}

func hexOf(d string) string { return strings.TrimPrefix(d, "sha256:") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
