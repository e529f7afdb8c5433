package server

import (
	"context"

	"github.com/crio-runtime/crio/internal/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateRuntimeConfig takes the node's pod CIDR for the built-in network.
func (s *Server) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	cidr := req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	if cidr != "" {
		if err := s.pods.Network().SetSubnet(cidr); err != nil {
			return nil, errdefs.Invalid("", "%w", err)
		}
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}
