package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	mediaTypeOCIManifest  = ocispec.MediaTypeImageManifest
	mediaTypeOCIIndex     = ocispec.MediaTypeImageIndex
	mediaTypeOCIConfig    = ocispec.MediaTypeImageConfig
	mediaTypeOCILayer     = ocispec.MediaTypeImageLayer
	mediaTypeOCILayerGzip = ocispec.MediaTypeImageLayerGzip
)

// Pushed describes what Push stored.
type Pushed struct {
	// Ref is Addr/repo:tag.
	Ref string
	// Digest is what the tag points to: the manifest digest, or the index
	// digest when Platforms was set.
	Digest string
	// ManifestDigest and ConfigDigest are for this machine's platform
	// (runtime.GOARCH) when an index was pushed, else for the only manifest.
	// The image ID containers/storage uses is ConfigDigest's hex.
	ManifestDigest, ConfigDigest string
	// Manifests maps "os/arch" to manifest digest (index pushes only).
	Manifests map[string]string
	// LayerDigests are the (compressed) layer blob digests, bottom first.
	LayerDigests []string
	// Size is the sum of the config and layer blob sizes.
	Size int64
}

// Push builds img, pushes it as name ("repo:tag"; tag defaults to latest)
// and returns the digest the tag points to.
func (r *Registry) Push(t testing.TB, name string, img Image) string {
	t.Helper()
	return r.PushImage(t, name, img).Digest
}

// PushImage is Push returning all digests.
func (r *Registry) PushImage(t testing.TB, name string, img Image) *Pushed {
	t.Helper()
	p, err := r.push(name, img)
	if err != nil {
		t.Fatalf("push %s to %s: %v", name, r.Addr, err)
	}
	return p
}

func splitName(name string) (repo, tag string) {
	repo, tag = name, "latest"
	if i := strings.LastIndex(name, ":"); i > 0 && !strings.Contains(name[i:], "/") {
		repo, tag = name[:i], name[i+1:]
	}
	return repo, tag
}

func (r *Registry) push(name string, img Image) (*Pushed, error) {
	repo, tag := splitName(name)
	layers, err := img.buildLayers()
	if err != nil {
		return nil, err
	}
	p := &Pushed{Ref: r.Addr + "/" + repo + ":" + tag}
	descs := make([]ocispec.Descriptor, 0, len(layers))
	for _, l := range layers {
		if err := r.pushBlob(repo, l.blob); err != nil {
			return nil, err
		}
		d := ocispec.Descriptor{MediaType: l.mediaType, Digest: digest.Digest(digestOf(l.blob)), Size: int64(len(l.blob))}
		descs = append(descs, d)
		p.LayerDigests = append(p.LayerDigests, d.Digest.String())
		p.Size += d.Size
	}
	platforms := img.Platforms
	if len(platforms) == 0 {
		platforms = []string{"linux/" + runtime.GOARCH}
	}
	p.Manifests = map[string]string{}
	var index ocispec.Index
	for _, plat := range platforms {
		osName, arch, _ := strings.Cut(plat, "/")
		cfg, err := img.configJSON(osName, arch, layers)
		if err != nil {
			return nil, err
		}
		if err := r.pushBlob(repo, cfg); err != nil {
			return nil, err
		}
		m := ocispec.Manifest{
			Versioned:   specs.Versioned{SchemaVersion: 2},
			MediaType:   mediaTypeOCIManifest,
			Config:      ocispec.Descriptor{MediaType: mediaTypeOCIConfig, Digest: digest.Digest(digestOf(cfg)), Size: int64(len(cfg))},
			Layers:      descs,
			Annotations: img.Annotations,
		}
		mb, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		md := digestOf(mb)
		ref := tag
		if len(img.Platforms) > 0 {
			ref = md // index members are pushed by digest, the index gets the tag
		}
		if err := r.putManifest(repo, ref, mediaTypeOCIManifest, mb); err != nil {
			return nil, err
		}
		p.Manifests[plat] = md
		if len(img.Platforms) == 0 || arch == runtime.GOARCH {
			p.ManifestDigest, p.ConfigDigest = md, m.Config.Digest.String()
			p.Size += m.Config.Size
		}
		index.Manifests = append(index.Manifests, ocispec.Descriptor{
			MediaType: mediaTypeOCIManifest, Digest: digest.Digest(md), Size: int64(len(mb)),
			Platform: &ocispec.Platform{OS: osName, Architecture: arch},
		})
	}
	if len(img.Platforms) == 0 {
		p.Digest = p.ManifestDigest
		return p, nil
	}
	index.Versioned = specs.Versioned{SchemaVersion: 2}
	index.MediaType = mediaTypeOCIIndex
	index.Annotations = img.Annotations
	ib, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	if err := r.putManifest(repo, tag, mediaTypeOCIIndex, ib); err != nil {
		return nil, err
	}
	p.Digest = digestOf(ib)
	return p, nil
}

func (img *Image) configJSON(osName, arch string, layers []layer) ([]byte, error) {
	env := img.Env
	hasPath := false
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			hasPath = true
		}
	}
	if !hasPath {
		env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	}
	created := Epoch
	c := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: osName, Architecture: arch},
		Config: ocispec.ImageConfig{
			User: img.User, Env: env, Entrypoint: img.Entrypoint, Cmd: img.Cmd,
			WorkingDir: img.WorkingDir, Labels: img.Labels, StopSignal: img.StopSignal,
		},
		RootFS: ocispec.RootFS{Type: "layers"},
	}
	if len(img.Volumes) > 0 {
		c.Config.Volumes = map[string]struct{}{}
		for _, v := range img.Volumes {
			c.Config.Volumes[v] = struct{}{}
		}
	}
	if len(img.ExposedPorts) > 0 {
		c.Config.ExposedPorts = map[string]struct{}{}
		for _, v := range img.ExposedPorts {
			c.Config.ExposedPorts[v] = struct{}{}
		}
	}
	for i, l := range layers {
		c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, digest.Digest(l.diffID))
		c.History = append(c.History, ocispec.History{Created: &created, CreatedBy: fmt.Sprintf("crio test layer %d", i)})
	}
	return json.Marshal(c)
}

// pushBlob uploads b unless the registry already has it (monolithic upload:
// POST to start, PUT with ?digest= to finish).
func (r *Registry) pushBlob(repo string, b []byte) error {
	dgst := digestOf(b)
	req, err := http.NewRequest(http.MethodHead, fmt.Sprintf("%s/v2/%s/blobs/%s", r.URL, repo, dgst), nil)
	if err != nil {
		return err
	}
	resp, err := r.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	req, err = http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v2/%s/blobs/uploads/", r.URL, repo), nil)
	if err != nil {
		return err
	}
	loc, err := r.expect(req, http.StatusAccepted)
	if err != nil {
		return err
	}
	u, err := url.Parse(r.URL + "/v2/")
	if err != nil {
		return err
	}
	u, err = u.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", dgst)
	u.RawQuery = q.Encode()
	req, err = http.NewRequest(http.MethodPut, u.String(), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(b))
	req.Header.Set("Content-Type", "application/octet-stream")
	_, err = r.expect(req, http.StatusCreated)
	return err
}

func (r *Registry) putManifest(repo, ref, mediaType string, b []byte) error {
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v2/%s/manifests/%s", r.URL, repo, ref), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	_, err = r.expect(req, http.StatusCreated)
	return err
}

// expect sends req and returns the Location header if the status matches.
func (r *Registry) expect(req *http.Request, status int) (string, error) {
	resp, err := r.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != status {
		return "", fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	loc := resp.Header.Get("Location")
	if status == http.StatusAccepted && loc == "" {
		return "", errNoLocation
	}
	return loc, nil
}
