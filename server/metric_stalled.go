package server

import (
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A kubelet whose create timed out repeats it with the same name while the
// first may still run; such a repeat waits for the first (see
// create_retry.go) and is counted at the stage the first is at, as CRI-O's
// resources_stalled_at_stage counts its waits.

func podCreationName(md *runtimeapi.PodSandboxMetadata) string {
	return fmt.Sprintf("pod/%s_%s_%s_%d", md.GetName(), md.GetNamespace(), md.GetUid(), md.GetAttempt())
}

func containerCreationName(podID string, md *runtimeapi.ContainerMetadata) string {
	return fmt.Sprintf("container/%s/%s_%d", podID, md.GetName(), md.GetAttempt())
}

// podStageAfter names the stage a pod creation is at once stage is done.
func podStageAfter(stage string) string {
	switch stage {
	case "namespaces":
		return "sandbox network creation"
	case "cni_add":
		return "sandbox network ready"
	}
	return "sandbox " + stage
}

// countStalled counts and logs a repeated create that found the first one
// still running at stage.
func (s *Server) countStalled(name, stage string) {
	s.obs().metrics.Stalled(stage)
	s.log.Info("Creation not yet finished by an earlier request; waiting for it", "name", name, "stage", stage)
}
