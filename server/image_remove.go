package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemoveImage removes an image and all its tags; an absent image succeeds.
func (s *Server) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	if err := s.images.Remove(ctx, req.Image, s.containers); err != nil {
		return nil, err
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}
