package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crio-runtime/crio/test/framework"
)

// TestCRIOKeysEndpoints (issue 22, endpoint keys): --profile with
// --profile-port serves pprof on localhost; metrics_cert/metrics_key that do
// not exist get a self-signed pair; tls_min_version is enforced.
func TestCRIOKeysEndpoints(t *testing.T) {
	mport, pport := freePort(t), freePort(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls", "metrics.crt"), filepath.Join(dir, "tls", "metrics.key")
	framework.StartDaemon(t, framework.Options{
		Config: fmt.Sprintf("\n[crio.metrics]\nenable_metrics = true\nmetrics_port = %d\nmetrics_cert = %q\nmetrics_key = %q\n", mport, cert, key),
		DropIn: "[crio.api]\ntls_min_version = \"VersionTLS13\"\n",
		Args:   []string{"--profile", "--profile-port", strconv.Itoa(pport)},
	})
	get := func(url string, maxVersion uint16) (string, error) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion}, //nolint:gosec // a self-signed test cert
		}}
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return string(b), fmt.Errorf("status %d", resp.StatusCode)
		}
		return string(b), err
	}
	metricsURL := fmt.Sprintf("https://127.0.0.1:%d/metrics", mport)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"profile port", func(t *testing.T) {
			// A connect refused once in CI right after the start, with the
			// daemon's log saying it listened: a moment's retry.
			body, err := get(fmt.Sprintf("http://localhost:%d/debug/pprof/", pport), 0)
			for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				body, err = get(fmt.Sprintf("http://localhost:%d/debug/pprof/", pport), 0)
			}
			if err != nil || !strings.Contains(body, "goroutine") {
				t.Errorf("pprof on the profile port: %v %.200q", err, body)
			}
		}},
		{"self-signed metrics pair", func(t *testing.T) {
			for _, p := range []string{cert, key} {
				st, err := os.Stat(p)
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v", p, st, err)
				}
			}
			body, err := get(metricsURL, 0)
			if err != nil || !strings.Contains(body, "container_runtime_crio_") {
				t.Errorf("metrics over TLS: %v %.200q", err, body)
			}
			if _, err := get(strings.Replace(metricsURL, "https", "http", 1), 0); err == nil {
				t.Error("metrics also served without TLS")
			}
		}},
		{"tls_min_version", func(t *testing.T) {
			if _, err := get(metricsURL, tls.VersionTLS12); err == nil {
				t.Error("a TLS 1.2 client was served although tls_min_version is VersionTLS13")
			}
		}},
	} {
		t.Run(tc.name, tc.run)
	}
}
