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
	if name := s.containerUsing(img.ID); name != "" {
		return errdefs.FailedPrecondition("image %s (%s) is in use by container %s", spec.GetImage(), img.ID, name)
	}
	if err := s.reapLater(ctx, img.ID, img.Names); err != nil {
		// No crash marker, no background: delete now.
		s.log.WarnContext(ctx, "image reap marker", "err", err)
		if err := s.deleteNow(img.ID); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "removed image", "ref", spec.GetImage(), "id", img.ID)
	return nil
}

// deleteNow deletes imageID in the request (what reapLater falls back to).
func (s *Service) deleteNow(id string) error {
	err := s.deleteImage(id)
	if errors.Is(err, storage.ErrImageUsedByContainer) {
		return errdefs.FailedPrecondition("image %s is in use by container %s", id, s.containerUsing(id))
	}
	s.dropInfo(id)
	if err != nil {
		return errdefs.New(errdefs.ErrInternal, "remove image %s: %w", id, err)
	}
	return nil
}

// containerUsing names a storage container created from imageID ("" when
// none): containers of other tools, and spare layers, are not in Users.
func (s *Service) containerUsing(imageID string) string {
	containers, err := s.store.Containers()
	if err != nil {
		return ""
	}
	for _, c := range containers {
		if c.ImageID == imageID {
			if len(c.Names) > 0 {
				return c.Names[0]
			}
			return c.ID
		}
	}
	return ""
}
