package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StopPodSandbox stops the pod's containers and tears down its network; the
// pod stays listable as NOTREADY. Unknown ids succeed, as api.proto asks.
func (s *Server) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	s.pods.LogLifecycle(ctx, "Stopping pod sandbox", req.PodSandboxId)
	if sb, err := s.pods.Get(req.PodSandboxId); err == nil {
		s.links().UnmountPod(ctx, sb)
	}
	if err := s.nriStopPod(ctx, req.PodSandboxId); err != nil {
		return nil, err
	}
	if err := s.pods.Stop(ctx, req.PodSandboxId); err != nil {
		return nil, err
	}
	s.pods.LogLifecycle(ctx, "Stopped pod sandbox", req.PodSandboxId)
	return &runtimeapi.StopPodSandboxResponse{}, nil
}
