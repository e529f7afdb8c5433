package image

import (
	"context"
	"slices"

	"github.com/containers/image/v5/docker/reference"

	"github.com/crio-runtime/crio/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ContainerImage is what the container lifecycle needs of a stored image.
type ContainerImage struct {
	// ID is the image ID (ContainerStatus.image_id, PullImage's image_ref).
	ID string
	// Ref is ContainerStatus.image_ref as CRI-O reports it: the image's first
	// repo digest (repo@sha256:...), else its ID. The kubelet shows it as the
	// pod's containerStatuses[].imageID.
	Ref string
	// Name is ContainerStatus.image.image as CRI-O reports it: the image's
	// first tag, else its first digested name, else "" (an image known only
	// by ID).
	Name   string
	Config ocispec.ImageConfig

	tags, digests []string // the image's names, for Prefer
}

// ForContainer resolves ref (id, id prefix, tag or digest) to a stored image;
// a missing image is NotFound.
func (s *Service) ForContainer(ctx context.Context, ref string) (*ContainerImage, error) {
	if ref == "" {
		return nil, errdefs.Invalid("", "image is required")
	}
	img, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, errdefs.NotFound("image %q not found", ref)
	}
	info, err := s.imageInfo(img)
	if err != nil {
		return nil, err
	}
	out := &ContainerImage{ID: img.ID, Config: info.config.Config}
	out.tags, out.digests = repoNames(img)
	out.Name, out.Ref = containerNames(img.ID, out.tags, out.digests)
	return out, nil
}

// Prefer makes the name the user asked for (the pod spec's image, which
// the kubelet sends as user_specified_image) the one ContainerStatus
// reports, when it is one of the image's names: an image stored under
// several tags otherwise shows in the pod's status under another tag than
// its spec's (kubernetes/kubernetes#51017). A digest the user named, or
// one of the same repository, becomes the ref (the status's imageID).
func (ci *ContainerImage) Prefer(user string) {
	r, err := reference.ParseNormalizedNamed(user)
	if err != nil {
		return
	}
	d, digested := r.(reference.Digested)
	if t, tagged := r.(reference.Tagged); tagged || !digested {
		tag := reference.TagNameOnly(r).String()
		if tagged {
			tag = r.Name() + ":" + t.Tag()
		}
		if slices.Contains(ci.tags, tag) {
			ci.Name = tag
		}
	}
	if digested {
		if s := r.Name() + "@" + d.Digest().String(); slices.Contains(ci.digests, s) {
			ci.Ref = s
			return
		}
	}
	for _, dg := range ci.digests {
		if dr, err := reference.ParseNormalizedNamed(dg); err == nil && dr.Name() == r.Name() {
			ci.Ref = dg
			return
		}
	}
}

// containerNames picks the name and ref ContainerStatus reports for an
// image by default.
func containerNames(id string, tags, digests []string) (name, ref string) {
	ref = id
	if len(digests) > 0 {
		ref = digests[0]
	}
	switch {
	case len(tags) > 0:
		name = tags[0]
	case len(digests) > 0:
		name = digests[0]
	}
	return name, ref
}
