package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// RemovePodSandbox stops the pod if needed and removes it and its
// containers. Unknown ids succeed.
func (s *Server) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	if req.PodSandboxId == "" {
		return nil, status.Error(codes.InvalidArgument, "pod_sandbox_id is required")
	}
	sb, err := s.pods.Get(req.PodSandboxId)
	if status.Code(err) == codes.NotFound {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	s.logPod(ctx, "Removing pod sandbox", sb.ID)
	if err := s.nriStopPod(ctx, sb.ID); err != nil {
		return nil, err
	}
	ctrs := s.podContainers(sb.ID)
	s.unmountPodLogs(ctx, sb)
	if err := s.pods.Remove(ctx, sb.ID); err != nil {
		return nil, err
	}
	s.nriRemovedPod(ctx, sb, ctrs)
	// The pod's resources record goes with it (restart also collects
	// records of pods that are gone).
	if err := s.dropPodResources(sb.ID); err != nil {
		return nil, err
	}
	logging.From(ctx).InfoContext(ctx, "Removed pod sandbox", "pod", sb.ID, "name", sb.Metadata().GetName(), "namespace", sb.Metadata().GetNamespace())
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
