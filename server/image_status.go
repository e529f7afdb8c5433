package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageStatus reports one image; a missing image is an empty response.
func (s *Server) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	if req.GetImage().GetImage() == "" {
		return nil, status.Error(codes.InvalidArgument, "image.image is required")
	}
	img, info, err := s.images.Status(ctx, req.Image, req.Verbose)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ImageStatusResponse{Image: img, Info: info}, nil
}
