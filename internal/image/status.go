package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/manifest"
	"github.com/containers/storage"
	"github.com/crio-runtime/crio/internal/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// imageInfo holds the facts about an image that never change for its ID.
type imageInfo struct {
	size        uint64
	uid         *int64
	username    string
	annotations map[string]string
	config      *ocispec.Image
}

// List returns all images, or only the one filter names.
func (s *Service) List(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	if name := filter.GetImage().GetImage(); name != "" {
		img, stamp, err := s.lookupAt(name)
		if err != nil || img == nil {
			return []*runtimeapi.Image{}, err
		}
		out, err := s.toCRIAt(stamp, img)
		if err != nil {
			return nil, err
		}
		return []*runtimeapi.Image{out}, nil
	}
	stamp := s.views.begin()
	if list := s.views.getList(stamp); list != nil {
		return list, nil
	}
	images, err := s.store.Images()
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInternal, "list images: %w", err)
	}
	out := make([]*runtimeapi.Image, 0, len(images))
	for i := range images {
		if s.reaps.hidden(images[i].ID) {
			continue // removed; deletion in the background
		}
		ci, err := s.toCRIAt(stamp, &images[i])
		if err != nil {
			if errors.Is(err, storage.ErrImageUnknown) || errors.Is(err, storage.ErrLayerUnknown) {
				continue // removed while we listed
			}
			return nil, err
		}
		out = append(out, ci)
	}
	s.views.putList(stamp, out)
	return out, nil
}

// Status returns the image spec names, or nil (no error) when there is none.
// verbose adds "info": the image config as JSON.
func (s *Service) Status(ctx context.Context, spec *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.Image, map[string]string, error) {
	img, stamp, err := s.lookupAt(spec.GetImage())
	if err != nil || img == nil {
		return nil, nil, err
	}
	out, err := s.toCRIAt(stamp, img)
	if err != nil {
		if errors.Is(err, storage.ErrImageUnknown) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	if !verbose {
		return out, nil, nil
	}
	info, err := s.imageInfo(img)
	if err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(map[string]any{"imageSpec": info.config, "pinned": out.Pinned})
	if err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInternal, "encode image info: %w", err)
	}
	return out, map[string]string{"info": string(b)}, nil
}

// lookup finds an image by ID, ID prefix, name:tag or name@digest (short
// names resolved like pulls). A missing image is (nil, nil). The image is
// shared (cached): callers must not modify it.
func (s *Service) lookup(input string) (*storage.Image, error) {
	img, _, err := s.lookupAt(input)
	return img, err
}

// lookupAt is lookup that also returns the cache stamp it was found under.
func (s *Service) lookupAt(input string) (*storage.Image, []byte, error) {
	stamp := s.views.begin()
	if img, ok := s.views.getLookup(stamp, input); ok {
		return img, stamp, nil
	}
	img, err := s.lookupStore(input)
	if err == nil {
		s.views.putLookup(stamp, input, img)
	}
	return img, stamp, err
}

func (s *Service) lookupStore(input string) (*storage.Image, error) {
	in, err := normalizeInput(input)
	if err != nil {
		return nil, err
	}
	if id := strings.TrimPrefix(in, "sha256:"); idPrefixExpr.MatchString(id) {
		img, err := s.store.Image(id)
		if err == nil && strings.HasPrefix(img.ID, id) {
			if s.reaps.hidden(img.ID) {
				return nil, nil
			}
			return img, nil
		}
		if idPattern.MatchString(id) || strings.HasPrefix(in, "sha256:") {
			return nil, nil
		}
	}
	cands, err := s.localCandidates(s.systemContext(), in)
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		if img := s.lookupName(c); img != nil {
			return img, nil
		}
	}
	return nil, nil
}

func (s *Service) lookupName(named reference.Named) *storage.Image {
	if img, err := s.store.Image(named.String()); err == nil {
		if s.reaps.hidden(img.ID) {
			return nil
		}
		return img
	}
	d, ok := named.(reference.Digested)
	if !ok {
		return nil
	}
	// Pulled by tag but asked for by digest: match the repository and the
	// manifest digest(s) the store recorded.
	images, err := s.store.ImagesByDigest(d.Digest())
	if err != nil {
		return nil
	}
	for i := range images {
		if s.reaps.hidden(images[i].ID) {
			continue
		}
		for _, n := range images[i].Names {
			if r, err := reference.ParseNormalizedNamed(n); err == nil && r.Name() == named.Name() {
				return images[i]
			}
		}
	}
	return nil
}

// toCRIAt is toCRI, remembered under stamp. The result is shared: callers
// (the RPC answers) must not modify it.
func (s *Service) toCRIAt(stamp []byte, img *storage.Image) (*runtimeapi.Image, error) {
	if out := s.views.getCRI(stamp, img.ID); out != nil {
		return out, nil
	}
	out, err := s.toCRI(img)
	if err == nil {
		s.views.putCRI(stamp, img.ID, out)
	}
	return out, err
}

func (s *Service) toCRI(img *storage.Image) (*runtimeapi.Image, error) {
	info, err := s.imageInfo(img)
	if err != nil {
		return nil, err
	}
	tags, digests := repoNames(img)
	out := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    tags,
		RepoDigests: digests,
		Size:        info.size,
		Username:    info.username,
		Spec:        &runtimeapi.ImageSpec{Image: img.ID, Annotations: info.annotations},
		Pinned:      s.pinned(img.ID, tags, digests),
	}
	if info.uid != nil {
		out.Uid = &runtimeapi.Int64Value{Value: *info.uid}
	}
	return out, nil
}

// repoNames splits the store's names into tags and digests, and adds
// repo@digest for every repository the image is known under (like CRI-O).
func repoNames(img *storage.Image) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	seen := map[string]bool{}
	var repos []reference.Named
	for _, n := range img.Names {
		r, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		repos = append(repos, reference.TrimNamed(r))
		if _, ok := r.(reference.Digested); ok {
			if !seen[r.String()] {
				seen[r.String()] = true
				digests = append(digests, r.String())
			}
			continue
		}
		tags = append(tags, reference.TagNameOnly(r).String())
	}
	ds := []digest.Digest{}
	if img.Digest != "" {
		ds = append(ds, img.Digest)
	}
	for _, d := range img.Digests {
		if d != img.Digest {
			ds = append(ds, d)
		}
	}
	for _, repo := range repos {
		for _, d := range ds {
			if c, err := reference.WithDigest(repo, d); err == nil && !seen[c.String()] {
				seen[c.String()] = true
				digests = append(digests, c.String())
			}
		}
	}
	return tags, digests
}

// pinned matches the image's names and ID against Options.PinnedImages:
// exact names, "prefix*" and "*keyword*" globs like CRI-O, or path.Match.
func (s *Service) pinned(id string, tags, digests []string) bool {
	names := append(append([]string{id}, tags...), digests...)
	for _, p := range s.opts.PinnedImages {
		for _, n := range names {
			if matchPinned(p, n) {
				return true
			}
		}
	}
	return false
}

func matchPinned(pattern, name string) bool {
	switch {
	case pattern == name:
		return true
	case strings.HasPrefix(pattern, "*") && strings.HasSuffix(pattern, "*") && len(pattern) > 1:
		return strings.Contains(name, pattern[1:len(pattern)-1])
	case strings.HasSuffix(pattern, "*") && !strings.Contains(pattern[:len(pattern)-1], "*"):
		return strings.HasPrefix(name, pattern[:len(pattern)-1])
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

// dropInfo forgets the answers cached about image id; every change this
// service makes to the image store calls it (storage's own token covers
// the rest, see viewCache). The image's facts (imageInfo) stay: they are
// keyed by content digests and cannot go stale.
func (s *Service) dropInfo(id string) {
	s.views.bump()
	s.warm(id)
}

// warm fills the answer cache for stored image id under its full names
// and ID: a pull calls dropInfo last, and the kubelet (or critest) asks
// ImageStatus right after it, by the name it pulled.
func (s *Service) warm(id string) {
	if s.reaps.hidden(id) {
		return
	}
	stamp := s.views.begin()
	img, err := s.store.Image(id)
	if err != nil || img.ID != id {
		return
	}
	if _, err := s.toCRIAt(stamp, img); err != nil {
		return
	}
	// lookupStore resolves a fully qualified name or the ID to img itself:
	// names are unique in the store.
	for _, n := range append([]string{img.ID}, img.Names...) {
		s.views.putLookup(stamp, n, img)
	}
}

// maxInfos bounds the facts kept (those of removed images stay until the
// map is full: a re-pull of the same content finds them).
const maxInfos = 1024

// infoKey names what an image's facts depend on: its config (the ID) and
// the manifest stored with it (annotations, and part of the size). "" when
// the store recorded no manifest digest: then nothing is cached.
func infoKey(img *storage.Image) string {
	if img.Digest == "" {
		return ""
	}
	return img.ID + "@" + img.Digest.String()
}

// imageInfo returns (and caches) size, user, annotations and config. The
// cold path reads two big-data files, sums layer sizes and parses JSON
// (~0.25 ms); a status right after a pull of known content skips it.
func (s *Service) imageInfo(img *storage.Image) (*imageInfo, error) {
	key := infoKey(img)
	s.infoMu.Lock()
	info := s.info[key]
	s.infoMu.Unlock()
	if info != nil && key != "" {
		return info, nil
	}
	info = &imageInfo{config: &ocispec.Image{}}
	size, err := s.store.ImageSize(img.ID)
	if err != nil {
		return nil, fmt.Errorf("size of image %s: %w", img.ID, err)
	}
	if size > 0 {
		info.size = uint64(size)
	}
	mb, err := s.store.ImageBigData(img.ID, storage.ImageDigestBigDataKey)
	if err == nil {
		if m, err := manifest.FromBlob(mb, manifest.GuessMIMEType(mb)); err == nil {
			if oci, ok := m.(*manifest.OCI1); ok {
				info.annotations = oci.Annotations
			}
			if cfgInfo := m.ConfigInfo(); cfgInfo.Digest != "" {
				if cb, err := s.store.ImageBigData(img.ID, cfgInfo.Digest.String()); err == nil {
					_ = json.Unmarshal(cb, info.config)
				}
			}
		}
	}
	info.uid, info.username = parseUser(info.config.Config.User)
	if key != "" {
		s.infoMu.Lock()
		if len(s.info) >= maxInfos {
			s.info = map[string]*imageInfo{}
		}
		s.info[key] = info
		s.infoMu.Unlock()
	}
	return info, nil
}

// parseUser splits an image USER into a numeric uid or a username (the
// group part is ignored, as CRI reports only the user).
func parseUser(u string) (*int64, string) {
	user, _, _ := strings.Cut(u, ":")
	if user == "" {
		return nil, ""
	}
	if n, err := strconv.ParseInt(user, 10, 64); err == nil {
		return &n, ""
	}
	return nil, user
}
