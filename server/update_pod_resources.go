package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdatePodSandboxResources applies the pod's new resources (plus its
// overhead) to the pod cgroup when the pod has one, and records them.
func (s *Server) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if err := s.nri.UpdatePodSandbox(ctx, sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	if err := s.pods.UpdateResources(ctx, sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}
