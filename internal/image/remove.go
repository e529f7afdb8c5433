package image

import (
	"context"
	"errors"

	"github.com/containers/storage"
	"github.com/crio-runtime/crio/internal/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Remove deletes the image spec names together with all its tags (as
// critest expects), and its layers no other image uses. Removing an absent
// image succeeds; an image used by a container is refused with
// FailedPrecondition. users may be nil (no containers to ask).
func (s *Service) Remove(ctx context.Context, spec *runtimeapi.ImageSpec, users Users) error {
	img, err := s.lookup(spec.GetImage())
	if err != nil || img == nil {
		return err
	}
	if users != nil {
		if name, ok := users.ImageInUse(img.ID); ok {
			return errdefs.FailedPrecondition("image %s (%s) is in use by container %s", spec.GetImage(), img.ID, name)
		}
		users.ReleaseImage(img.ID)
	}
	_, err = s.store.DeleteImage(img.ID, true)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrImageUnknown), errors.Is(err, storage.ErrNotAnImage), errors.Is(err, storage.ErrLayerUnknown):
		// A concurrent remove won the race; the image is gone either way.
	case errors.Is(err, storage.ErrImageUsedByContainer):
		return errdefs.FailedPrecondition("image %s (%s) is in use by container %s", spec.GetImage(), img.ID, s.containerUsing(img.ID))
	default:
		return errdefs.New(errdefs.ErrInternal, "remove image %s: %w", img.ID, err)
	}
	s.dropInfo(img.ID)
	s.log.InfoContext(ctx, "removed image", "ref", spec.GetImage(), "id", img.ID)
	return nil
}

// containerUsing names a storage container created from imageID.
func (s *Service) containerUsing(imageID string) string {
	containers, err := s.store.Containers()
	if err != nil {
		return "(unknown)"
	}
	for _, c := range containers {
		if c.ImageID == imageID {
			if len(c.Names) > 0 {
				return c.Names[0]
			}
			return c.ID
		}
	}
	return "(unknown)"
}
