package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPushAndFetch(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"plain", Options{}},
		{"tls+auth", Options{TLS: true, Users: map[string]string{"alice": "s3cret", "bob": "pw"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Start(t, tc.opts)
			img := Image{
				Entrypoint: []string{"/bin/sh", "-c"},
				Cmd:        []string{"echo hi"},
				Env:        []string{"FOO=bar"},
				User:       "1000",
				WorkingDir: "/tmp",
				Labels:     map[string]string{"a": "b"},
				StopSignal: "SIGQUIT",
				Volumes:    []string{"/data"},
				Users:      []User{{Name: "app", UID: 1000, GID: 1000}},
				Groups:     []Group{{Name: "app", GID: 1000}},
				ExtraLayers: [][]TarEntry{{
					{Name: "data/", Type: tar.TypeDir},
					{Name: "data/hello.txt", Data: []byte("hello\n")},
				}},
			}
			p := r.PushImage(t, "test/busybox:v1", img)
			if again := r.Push(t, "test/busybox:v1", img); again != p.Digest {
				t.Fatalf("push not deterministic: %s != %s", again, p.Digest)
			}
			if tc.opts.TLS {
				if _, err := os.Stat(filepath.Join(r.CertDir, r.Addr, "ca.crt")); err != nil {
					t.Fatalf("certs.d layout: %v", err)
				}
				// Without credentials the registry refuses.
				resp, err := r.Client().Get(r.URL + "/v2/test/busybox/manifests/v1")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("anonymous GET: got %s, want 401", resp.Status)
				}
			}
			mb, mt, dgst, err := r.GetManifest("test/busybox", "v1")
			if err != nil {
				t.Fatal(err)
			}
			if mt != ocispec.MediaTypeImageManifest || dgst != p.Digest || digestOf(mb) != p.Digest {
				t.Fatalf("manifest: type %q digest %q, want %q", mt, dgst, p.Digest)
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(mb, &m); err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != 2 || m.Config.Digest.String() != p.ConfigDigest {
				t.Fatalf("manifest layers %d config %s", len(m.Layers), m.Config.Digest)
			}
			cb, err := r.GetBlob("test/busybox", p.ConfigDigest)
			if err != nil {
				t.Fatal(err)
			}
			var cfg ocispec.Image
			if err := json.Unmarshal(cb, &cfg); err != nil {
				t.Fatal(err)
			}
			checkConfig(t, cfg.Config, img)
			checkBaseLayer(t, r, m.Layers[0].Digest.String())
		})
	}
}

func checkConfig(t *testing.T, got ocispec.ImageConfig, img Image) {
	t.Helper()
	if !reflect.DeepEqual(got.Entrypoint, img.Entrypoint) || !reflect.DeepEqual(got.Cmd, img.Cmd) {
		t.Errorf("entrypoint/cmd = %q %q", got.Entrypoint, got.Cmd)
	}
	if got.User != img.User || got.WorkingDir != img.WorkingDir || got.StopSignal != img.StopSignal {
		t.Errorf("user/workdir/stopsignal = %q %q %q", got.User, got.WorkingDir, got.StopSignal)
	}
	if len(got.Env) != 2 || got.Env[1] != "FOO=bar" {
		t.Errorf("env = %q", got.Env)
	}
	if _, ok := got.Volumes["/data"]; !ok || got.Labels["a"] != "b" {
		t.Errorf("volumes/labels = %v %v", got.Volumes, got.Labels)
	}
}

func checkBaseLayer(t *testing.T, r *Registry, dgst string) {
	t.Helper()
	lb, err := r.GetBlob("test/busybox", dgst)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(lb))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	found := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "etc/passwd" {
			b, _ := io.ReadAll(tr)
			found[h.Name] = string(b)
			continue
		}
		found[h.Name] = h.Linkname
	}
	if found["bin/sh"] != "busybox" {
		t.Errorf("bin/sh symlink missing: %q", found["bin/sh"])
	}
	if _, ok := found["bin/busybox"]; !ok {
		t.Error("bin/busybox missing")
	}
	if want := "app:x:1000:1000:app:/home/app:/bin/sh\n"; !bytes.Contains([]byte(found["etc/passwd"]), []byte(want)) {
		t.Errorf("passwd = %q", found["etc/passwd"])
	}
}

func TestPushIndexAndPadding(t *testing.T) {
	r := Start(t, Options{})
	p := r.PushImage(t, "multi:latest", Image{Platforms: []string{"linux/amd64", "linux/arm64"}, PadLayers: 2, PadLayerSize: 1 << 16, Seed: 7})
	mb, mt, _, err := r.GetManifest("multi", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if mt != ocispec.MediaTypeImageIndex {
		t.Fatalf("media type %q", mt)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(mb, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 2 || len(p.LayerDigests) != 3 {
		t.Fatalf("index has %d manifests, %d layers", len(idx.Manifests), len(p.LayerDigests))
	}
	if p.Manifests["linux/"+runtime.GOARCH] != p.ManifestDigest {
		t.Fatalf("platform manifest mismatch: %v vs %s", p.Manifests, p.ManifestDigest)
	}
	for _, d := range idx.Manifests {
		if _, _, _, err := r.GetManifest("multi", d.Digest.String()); err != nil {
			t.Fatalf("member %s: %v", d.Digest, err)
		}
	}
}

func TestProxy(t *testing.T) {
	r := Start(t, Options{})
	p := r.PushImage(t, "px:v1", Image{})
	cfg := p.ConfigDigest
	px := StartProxy(t, r, ProxyOptions{CorruptDigests: []string{cfg}})
	resp, err := http.Get("http://" + px.Addr + "/v2/px/blobs/" + cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if digestOf(b) == cfg || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s, body not corrupted", resp.Status)
	}
	if n := px.BlobGets()[cfg]; n != 1 {
		t.Fatalf("blob gets = %d", n)
	}
}
