// Package registry is a test harness: it runs Debian's docker-registry (the
// CNCF distribution registry) on loopback, optionally with TLS and htpasswd
// auth, and pushes small deterministic OCI images built from busybox-static.
package registry

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// BinaryPath is the registry binary started by Start.
var BinaryPath = "/usr/bin/docker-registry"

// Options selects how the registry is served.
type Options struct {
	// TLS serves HTTPS with a server certificate for 127.0.0.1 signed by a
	// freshly generated CA (see Registry.CACertPath and Registry.CertDir).
	TLS bool
	// Users enables htpasswd basic auth with these username -> password pairs.
	Users map[string]string
}

// Registry is a running docker-registry.
type Registry struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// URL is "http://Addr" or "https://Addr".
	URL string
	// CACertPath is the CA certificate (PEM) when TLS is on, else "".
	CACertPath string
	// CertDir is a certs.d-style root: CertDir/<Addr>/ca.crt exists when TLS
	// is on (use it as SystemContext.DockerCertPath's parent, i.e.
	// DockerPerHostCertDirPath = filepath.Join(CertDir, Addr)).
	CertDir string
	// Username and Password are the first user (sorted by name) when auth is
	// on; Push uses them.
	Username, Password string
	// Dir is the registry's private directory (config, storage, log).
	Dir string

	client   *http.Client
	cmd      *exec.Cmd
	waitErr  chan error
	stopOnce sync.Once
}

// Start runs a registry for the duration of the test. It skips the test when
// the docker-registry binary is not installed.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	if _, err := os.Stat(BinaryPath); err != nil {
		t.Skipf("docker-registry not available: %v (apt-get install docker-registry)", err)
	}
	dir := t.TempDir()
	var lastErr error
	// A freshly probed free port can be taken by someone else before the
	// registry binds it; retry a few times with a new port.
	for attempt := 0; attempt < 5; attempt++ {
		r, err := start(dir, attempt, opts)
		if err == nil {
			t.Cleanup(r.Stop)
			return r
		}
		lastErr = err
	}
	t.Fatalf("start registry: %v", lastErr)
	return nil
}

func start(base string, attempt int, opts Options) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, fmt.Sprintf("run%d", attempt))
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return nil, err
	}
	r := &Registry{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, waitErr: make(chan error, 1)}
	scheme := "http"
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var tlsYAML string
	if opts.TLS {
		scheme = "https"
		certPEM, keyPEM, caPEM, err := generateCerts()
		if err != nil {
			return nil, err
		}
		if err := writeTLSFiles(r, certPEM, keyPEM, caPEM); err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		tlsCfg.RootCAs = pool
		tlsYAML = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n",
			filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	} else {
		r.CertDir = filepath.Join(dir, "certs.d")
		if err := os.MkdirAll(r.CertDir, 0o755); err != nil {
			return nil, err
		}
	}
	r.URL = scheme + "://" + r.Addr
	r.client = &http.Client{
		Transport: &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: false},
		Timeout:   2 * time.Minute,
	}
	authYAML, err := writeHtpasswd(r, opts.Users)
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: crio-test-secret
%s%s`, filepath.Join(dir, "storage"), r.Addr, tlsYAML, authYAML)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := r.launch(cfgPath); err != nil {
		return nil, err
	}
	if err := r.waitReady(30 * time.Second); err != nil {
		r.Stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, r.logTail())
	}
	return r, nil
}

func (r *Registry) launch(cfgPath string) error {
	logf, err := os.Create(filepath.Join(r.Dir, "registry.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(BinaryPath, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = r.Dir
	// Never outlive the test binary, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true} // see framework.Daemon.Start
	if err := startOnKeptThread(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", BinaryPath, err)
	}
	r.cmd = cmd
	go func() {
		r.waitErr <- cmd.Wait()
		logf.Close()
	}()
	return nil
}

// waitReady polls /v2/ until it answers 200 or 401 (auth on).
func (r *Registry) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.waitErr:
			r.waitErr <- err
			return fmt.Errorf("registry exited early: %v", err)
		default:
		}
		resp, err := r.client.Get(r.URL + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("registry at %s not ready after %v", r.Addr, timeout)
}

// Stop terminates the registry; it is idempotent and registered as cleanup.
func (r *Registry) Stop() {
	r.stopOnce.Do(func() {
		if r.cmd == nil || r.cmd.Process == nil {
			return
		}
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.waitErr:
		case <-time.After(5 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.waitErr
		}
		if t, ok := r.client.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	})
}

func (r *Registry) logTail() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Client returns an HTTP client that trusts the registry's CA. It does not
// add credentials; use Do for that.
func (r *Registry) Client() *http.Client { return r.client }

// Ref returns the fully qualified reference Addr/name.
func (r *Registry) Ref(name string) string { return r.Addr + "/" + name }

// Do sends req with basic auth (when the registry has users) and the
// registry's CA.
func (r *Registry) Do(req *http.Request) (*http.Response, error) {
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	return r.client.Do(req)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeTLSFiles(r *Registry, certPEM, keyPEM, caPEM []byte) error {
	files := map[string][]byte{
		filepath.Join(r.Dir, "server.crt"): certPEM,
		filepath.Join(r.Dir, "server.key"): keyPEM,
		filepath.Join(r.Dir, "ca.crt"):     caPEM,
	}
	r.CACertPath = filepath.Join(r.Dir, "ca.crt")
	r.CertDir = filepath.Join(r.Dir, "certs.d")
	hostDir := filepath.Join(r.CertDir, r.Addr)
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return err
	}
	files[filepath.Join(hostDir, "ca.crt")] = caPEM
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// writeHtpasswd writes a bcrypt htpasswd file and returns the auth YAML
// section, or "" when there are no users.
func writeHtpasswd(r *Registry, users map[string]string) (string, error) {
	if len(users) == 0 {
		return "", nil
	}
	names := make([]string, 0, len(users))
	for u := range users {
		if strings.ContainsAny(u, ":\n") || u == "" {
			return "", fmt.Errorf("invalid htpasswd user %q", u)
		}
		names = append(names, u)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, u := range names {
		// MinCost keeps the registry's per-request bcrypt check cheap.
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&buf, "%s:%s\n", u, h)
	}
	p := filepath.Join(r.Dir, "htpasswd")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		return "", err
	}
	r.Username, r.Password = names[0], users[names[0]]
	return fmt.Sprintf("auth:\n  htpasswd:\n    realm: crio-test\n    path: %s\n", p), nil
}

// GetManifest fetches a manifest (or index) by tag or digest and returns its
// bytes, media type and digest (from Docker-Content-Digest).
func (r *Registry) GetManifest(repo, reference string) (body []byte, mediaType, dgst string, err error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/%s/manifests/%s", r.URL, repo, reference), nil)
	if err != nil {
		return nil, "", "", err
	}
	req.Header.Set("Accept", strings.Join([]string{
		mediaTypeOCIManifest, mediaTypeOCIIndex,
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
	}, ", "))
	body, resp, err := r.readAll(req)
	if err != nil {
		return nil, "", "", err
	}
	return body, resp.Header.Get("Content-Type"), resp.Header.Get("Docker-Content-Digest"), nil
}

// GetBlob fetches a blob by digest.
func (r *Registry) GetBlob(repo, dgst string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/%s/blobs/%s", r.URL, repo, dgst), nil)
	if err != nil {
		return nil, err
	}
	body, _, err := r.readAll(req)
	return body, err
}

func (r *Registry) readAll(req *http.Request) ([]byte, *http.Response, error) {
	resp, err := r.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	return body, resp, nil
}

var errNoLocation = errors.New("upload response without Location")

// starts hands cmd.Start calls to one goroutine locked to its thread for
// the life of the test binary. Pdeathsig fires when the forking thread
// exits, and a test process that unpacks layers in-process (internal/untar)
// ends the threads it confines: forking from a thread that never exits
// keeps the registry alive until the test binary dies.
var starts = make(chan func())

func init() {
	go func() {
		runtime.LockOSThread() // never unlocked: this thread stays
		for f := range starts {
			f()
		}
	}()
}

func startOnKeptThread(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	starts <- func() { done <- cmd.Start() }
	return <-done
}
