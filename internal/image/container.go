package image

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ContainerImage is what the container lifecycle needs of a stored image.
type ContainerImage struct {
	ID string
	// Ref is the value ImageStatus, ListImages and PullImage report, so
	// ContainerStatus.ImageRef is consistent with them.
	Ref string
	// Name is the first repo tag, or the id for an untagged image.
	Name   string
	Config ocispec.ImageConfig
}

// ForContainer resolves ref (id, id prefix, tag or digest) to a stored image;
// a missing image is NotFound.
func (s *Service) ForContainer(ctx context.Context, ref string) (*ContainerImage, error) {
	if ref == "" {
		return nil, status.Error(codes.InvalidArgument, "image is required")
	}
	img, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, status.Errorf(codes.NotFound, "image %q not found", ref)
	}
	info, err := s.imageInfo(img)
	if err != nil {
		return nil, err
	}
	out := &ContainerImage{ID: img.ID, Ref: img.ID, Name: img.ID, Config: info.config.Config}
	if tags, _ := repoNames(img); len(tags) > 0 {
		out.Name = tags[0]
	}
	return out, nil
}
