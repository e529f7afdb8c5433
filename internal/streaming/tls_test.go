package streaming_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/streaming"
	"github.com/crio-runtime/crio/internal/streaming/client"
)

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// newCert issues a certificate for cn, signed by parent (self-signed if nil).
func newCert(t *testing.T, cn string, parent *keyPair, isCA bool) *keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: isCA,
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keyPair{cert: cert, key: key, der: der}
}

func (k *keyPair) write(t *testing.T, certPath, keyPath string) {
	t.Helper()
	kb, err := x509.MarshalECPrivateKey(k.key)
	if err != nil {
		t.Fatal(err)
	}
	// Write to temp files and rename, as a certificate rotation would.
	for path, blk := range map[string]*pem.Block{certPath: {Type: "CERTIFICATE", Bytes: k.der}, keyPath: {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path+".tmp", pem.EncodeToMemory(blk), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
}

func (k *keyPair) tlsCert() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{k.der}, PrivateKey: k.key}
}

func servedCN(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := newCert(t, "ca", nil, true)
	newCert(t, "first", ca, false).write(t, certPath, keyPath)
	s := startServer(t, streaming.Config{TLS: &streaming.TLSFiles{Cert: certPath, Key: keyPath}}, hostPod)
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s is not https", s.URL())
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	clientCfg := &tls.Config{RootCAs: roots}
	addr := s.Addr().String()
	if cn := servedCN(t, addr, clientCfg); cn != "first" {
		t.Fatalf("served %q", cn)
	}
	newCert(t, "second", ca, false).write(t, certPath, keyPath)
	if cn := servedCN(t, addr, clientCfg); cn != "second" {
		t.Errorf("after rotation served %q", cn)
	}

	// A broken rotation keeps the last good certificate.
	if err := os.WriteFile(certPath, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cn := servedCN(t, addr, clientCfg); cn != "second" {
		t.Errorf("after a bad write served %q", cn)
	}

	// The streaming protocols work over TLS.
	port := echoServer(t)
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "pod"})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := client.DialPortForward(context.Background(), resp.Url, clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	st, err := pf.Open(port)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = st.Write([]byte("tls"))
	_ = st.CloseWrite()
	buf := make([]byte, 64)
	n, _ := readFull(st, buf)
	if string(buf[:n]) != "hello tls" {
		t.Errorf("over tls got %q", buf[:n])
	}
}

func readFull(st *client.Stream, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := st.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestTLSClientCA(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, caPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	ca := newCert(t, "ca", nil, true)
	ca.write(t, caPath, "")
	newCert(t, "server", ca, false).write(t, certPath, keyPath)
	s := startServer(t, streaming.Config{TLS: &streaming.TLSFiles{Cert: certPath, Key: keyPath, CA: caPath}}, hostPod)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	// An HTTP round trip: a rejected certificate fails it, an accepted one
	// gets an answer (404 for this path).
	handshake := func(cfg *tls.Config) error {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		defer c.CloseIdleConnections()
		resp, err := c.Get(s.URL() + "/nothing")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := handshake(&tls.Config{RootCAs: roots}); err == nil {
		t.Error("client without a certificate was accepted")
	}
	good := newCert(t, "client", ca, false).tlsCert()
	if err := handshake(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{good}}); err != nil {
		t.Errorf("client with a CA-signed certificate: %v", err)
	}
	stranger := newCert(t, "stranger", nil, false).tlsCert()
	if err := handshake(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{stranger}}); err == nil {
		t.Error("client with an unknown certificate was accepted")
	}
}
