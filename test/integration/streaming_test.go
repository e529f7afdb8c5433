package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/streaming/client"
	"github.com/crio-runtime/crio/test/framework"
)

// podListener listens on 127.0.0.1 inside the pod's network namespace only
// and answers each connection with serve.
func podListener(t testing.TB, netns string, serve func(net.Conn)) int {
	t.Helper()
	var l net.Listener
	if err := framework.InNetNS(netns, func() (err error) {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// greet answers "<name>: <what the client sent>" after the client half-closes.
func greet(name string) func(net.Conn) {
	return func(c net.Conn) {
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "%s: %s", name, b)
	}
}

func portForwardURL(t testing.TB, d *framework.Daemon, podID string, ports ...int32) string {
	t.Helper()
	resp, err := d.Runtime.PortForward(framework.Ctx(t), &runtimeapi.PortForwardRequest{PodSandboxId: podID, Port: ports})
	if err != nil {
		t.Fatalf("PortForward: %v", err)
	}
	return resp.Url
}

// roundTrip sends msg on a new forwarded connection, half-closes, and
// returns the whole answer.
func roundTrip(pf *client.PortForwarder, port int, msg string) (string, error) {
	st, err := pf.Open(port)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if _, err := io.WriteString(st, msg); err != nil {
		return "", err
	}
	if err := st.CloseWrite(); err != nil {
		return "", err
	}
	got, err := io.ReadAll(st)
	if err != nil {
		return string(got), err
	}
	return string(got), st.Err()
}

func TestStreamPortForwardToPod(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	id, _ := runPod(t, d, framework.PodConfig("pf"))
	netns := netnsPath(d, id)
	portA := podListener(t, netns, greet("a"))
	portB := podListener(t, netns, greet("b"))
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", portA), time.Second); err == nil {
		c.Close()
		t.Skipf("port %d is also open on the host; cannot tell namespaces apart", portA)
	}

	url := portForwardURL(t, d, id[:12], int32(portA), int32(portB))
	ctx := framework.Ctx(t)
	pf, err := client.DialPortForward(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer pf.Close()

	// Two ports, two parallel connections each, all over one session.
	var wg sync.WaitGroup
	for _, tc := range []struct {
		port int
		name string
	}{{portA, "a"}, {portA, "a"}, {portB, "b"}, {portB, "b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := strings.Repeat("x", 64<<10) + tc.name
			got, err := roundTrip(pf, tc.port, msg)
			if err != nil || got != tc.name+": "+msg {
				t.Errorf("port %d: %d bytes back, %v", tc.port, len(got), err)
			}
		}()
	}
	wg.Wait()

	// Nothing listens on this port in the pod: the error comes back on the
	// connection's error stream, and the session stays usable.
	// (The server may close the data stream before our write lands, so a
	// write error is as good as the refusal itself.)
	if _, err := roundTrip(pf, closedPodPort(t, netns), "hi"); err == nil || !strings.Contains(err.Error(), "refused") && !strings.Contains(err.Error(), "closed stream") {
		t.Errorf("closed port: %v", err)
	}
	if got, err := roundTrip(pf, portA, "again"); err != nil || got != "a: again" {
		t.Errorf("after an error: %q %v", got, err)
	}

	// The URL's token is single-use.
	if _, err := client.DialPortForward(ctx, url, nil); err == nil {
		t.Error("a used port-forward URL was accepted again")
	}
}

func closedPodPort(t *testing.T, netns string) int {
	var port int
	if err := framework.InNetNS(netns, func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		port = l.Addr().(*net.TCPAddr).Port
		return l.Close()
	}); err != nil {
		t.Fatal(err)
	}
	return port
}

func TestStreamPortForwardLargeTransfer(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	id, _ := runPod(t, d, framework.PodConfig("pf-big"))
	port := podListener(t, netnsPath(d, id), hashConn)
	const size = 100 << 20
	elapsed, err := forwardAndHash(framework.Ctx(t), portForwardURL(t, d, id), port, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("port-forward: %d MB in %s = %.1f MB/s", size>>20, elapsed.Round(time.Millisecond), float64(size)/(1<<20)/elapsed.Seconds())
}

// BenchmarkStreamPortForwardThroughput pushes 100 MB per iteration through
// a port-forward into a pod and reports MB/s.
func BenchmarkStreamPortForwardThroughput(b *testing.B) {
	d := framework.StartDaemon(b, framework.Options{})
	ctx := framework.Ctx(b)
	resp, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: framework.PodConfig("pf-bench")})
	if err != nil {
		b.Fatal(err)
	}
	port := podListener(b, netnsPath(d, resp.PodSandboxId), hashConn)
	const size = 100 << 20
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		url := portForwardURL(b, d, resp.PodSandboxId)
		b.StartTimer()
		if _, err := forwardAndHash(ctx, url, port, size); err != nil {
			b.Fatal(err)
		}
	}
}

// hashConn reads everything and answers with its SHA-256.
func hashConn(c net.Conn) {
	h := sha256.New()
	_, _ = io.Copy(h, c)
	_, _ = c.Write(h.Sum(nil))
}

// forwardAndHash sends size bytes through a new port-forward session and
// checks the pod's hash of them.
func forwardAndHash(ctx context.Context, url string, port, size int) (time.Duration, error) {
	pf, err := client.DialPortForward(ctx, url, nil)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	start := time.Now()
	st, err := pf.Open(port)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	h := sha256.New()
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := st.Write(chunk); err != nil {
			return 0, fmt.Errorf("write after %d bytes: %w", sent, err)
		}
		h.Write(chunk)
	}
	if err := st.CloseWrite(); err != nil {
		return 0, err
	}
	got, err := io.ReadAll(st)
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(got, h.Sum(nil)) {
		return 0, fmt.Errorf("pod saw different bytes (hash %x)", got)
	}
	return elapsed, nil
}

func TestStreamBadInput(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	id, _ := runPod(t, d, framework.PodConfig("stream-bad"))
	stopped, _ := runPod(t, d, framework.PodConfig("stream-stopped"))
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: stopped}); err != nil {
		t.Fatal(err)
	}
	exec := func(r *runtimeapi.ExecRequest) error { _, err := d.Runtime.Exec(ctx, r); return err }
	attach := func(r *runtimeapi.AttachRequest) error { _, err := d.Runtime.Attach(ctx, r); return err }
	pf := func(r *runtimeapi.PortForwardRequest) error { _, err := d.Runtime.PortForward(ctx, r); return err }
	for _, tc := range []struct {
		name string
		err  error
		want codes.Code
	}{
		{"exec without container id", exec(&runtimeapi.ExecRequest{Cmd: []string{"true"}, Stdout: true}), codes.InvalidArgument},
		{"exec without cmd", exec(&runtimeapi.ExecRequest{ContainerId: "nope", Stdout: true}), codes.InvalidArgument},
		{"exec without streams", exec(&runtimeapi.ExecRequest{ContainerId: "nope", Cmd: []string{"true"}}), codes.InvalidArgument},
		{"exec tty with stderr", exec(&runtimeapi.ExecRequest{ContainerId: "nope", Cmd: []string{"true"}, Tty: true, Stdout: true, Stderr: true}), codes.InvalidArgument},
		{"exec unknown container", exec(&runtimeapi.ExecRequest{ContainerId: "nope", Cmd: []string{"true"}, Stdout: true}), codes.NotFound},
		{"attach without container id", attach(&runtimeapi.AttachRequest{Stdout: true}), codes.InvalidArgument},
		{"attach without streams", attach(&runtimeapi.AttachRequest{ContainerId: "nope"}), codes.InvalidArgument},
		{"attach tty with stderr", attach(&runtimeapi.AttachRequest{ContainerId: "nope", Tty: true, Stderr: true}), codes.InvalidArgument},
		{"attach unknown container", attach(&runtimeapi.AttachRequest{ContainerId: "nope", Stdout: true}), codes.NotFound},
		{"port-forward without pod id", pf(&runtimeapi.PortForwardRequest{Port: []int32{80}}), codes.InvalidArgument},
		{"port-forward bad port", pf(&runtimeapi.PortForwardRequest{PodSandboxId: id, Port: []int32{70000}}), codes.InvalidArgument},
		{"port-forward unknown pod", pf(&runtimeapi.PortForwardRequest{PodSandboxId: "nope", Port: []int32{80}}), codes.NotFound},
		{"port-forward stopped pod", pf(&runtimeapi.PortForwardRequest{PodSandboxId: stopped, Port: []int32{80}}), codes.FailedPrecondition},
	} {
		if got := status.Code(tc.err); got != tc.want {
			t.Errorf("%s: got %v (%v), want %v", tc.name, got, tc.err, tc.want)
		}
	}
}

func TestStreamTLSPortForward(t *testing.T) {
	d := framework.NewDaemon(t, framework.Options{})
	certPEM, keyPEM, roots := selfSignedLoopbackCert(t)
	certPath, keyPath := filepath.Join(d.Dir, "stream.crt"), filepath.Join(d.Dir, "stream.key")
	for p, b := range map[string][]byte{certPath: certPEM, keyPath: keyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dropIn := fmt.Sprintf("[crio.api]\nstream_enable_tls = true\nstream_tls_cert = %q\nstream_tls_key = %q\nstream_idle_timeout = \"1m\"\n", certPath, keyPath)
	if err := os.WriteFile(filepath.Join(d.ConfigDir, "10-stream-tls.conf"), []byte(dropIn), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Start()
	id, _ := runPod(t, d, framework.PodConfig("pf-tls"))
	port := podListener(t, netnsPath(d, id), greet("tls"))
	url := portForwardURL(t, d, id)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("URL %s is not https", url)
	}
	if _, err := client.DialPortForward(framework.Ctx(t), url, &tls.Config{}); err == nil {
		t.Fatal("a client that does not trust the certificate connected")
	}
	pf, err := client.DialPortForward(framework.Ctx(t), portForwardURL(t, d, id), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if got, err := roundTrip(pf, port, "hi"); err != nil || got != "tls: hi" {
		t.Errorf("got %q %v", got, err)
	}
}

// selfSignedLoopbackCert returns a PEM certificate and key for 127.0.0.1
// and a pool that trusts it.
func selfSignedLoopbackCert(t *testing.T) (certPEM, keyPEM []byte, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crio-stream"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), roots
}
