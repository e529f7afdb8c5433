package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// RemovePodSandbox stops the pod if needed and removes it and its
// containers. Unknown ids succeed.
func (s *Server) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	sb, err := s.pods.Get(req.PodSandboxId)
	if isNotFound(err) {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	s.pods.LogLifecycle(ctx, "Removing pod sandbox", sb.ID)
	if err := s.nriStopPod(ctx, sb.ID); err != nil {
		return nil, err
	}
	ctrs := s.podContainers(sb.ID)
	s.links().UnmountPod(ctx, sb)
	if err := s.pods.Remove(ctx, sb.ID); err != nil {
		return nil, err
	}
	s.nriRemovedPod(ctx, sb, ctrs)
	logging.From(ctx).InfoContext(ctx, "Removed pod sandbox", "pod", sb.ID, "name", sb.Metadata().GetName(), "namespace", sb.Metadata().GetNamespace())
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
