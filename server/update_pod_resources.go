package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	ocispec "github.com/crio-runtime/crio/internal/spec"
)

// UpdatePodSandboxResources applies the pod's new resources (plus its
// overhead) to the pod cgroup when the pod has one, and records them.
func (s *Server) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	if req.PodSandboxId == "" {
		return nil, status.Error(codes.InvalidArgument, "pod_sandbox_id is required")
	}
	if err := validatePodResources(req.Resources, "resources."); err != nil {
		return nil, err
	}
	if err := validatePodResources(req.Overhead, "overhead."); err != nil {
		return nil, err
	}
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if err := s.pods.UpdateResources(ctx, sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}

// validatePodResources makes the checks CreateContainer makes of
// container resources (one implementation, in internal/spec).
func validatePodResources(r *runtimeapi.LinuxContainerResources, field string) error {
	return ocispec.ValidateResources(r, field)
}
