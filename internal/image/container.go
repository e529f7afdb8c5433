package image

import (
	"context"

	"github.com/containers/storage"
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
	out.Name, out.Ref = containerNames(img)
	return out, nil
}

// containerNames picks the name and ref ContainerStatus reports for img.
func containerNames(img *storage.Image) (name, ref string) {
	tags, digests := repoNames(img)
	ref = img.ID
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
