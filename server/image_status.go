package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageStatus reports one image; a missing image is an empty response.
func (s *Server) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	img, info, err := s.images.Status(ctx, req.Image, req.Verbose)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ImageStatusResponse{Image: img, Info: info}, nil
}
