package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdatePodSandboxResources passes the pod's new resources and overhead to
// the NRI plugins and records them; the pod cgroup is the kubelet's to
// write (see sandbox.Manager.UpdateResources).
func (s *Server) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if err := s.nri.UpdatePodSandbox(ctx, sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	if err := s.pods.UpdateResources(sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}
