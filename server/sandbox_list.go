package server

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/sandbox"
)

// ListPodSandbox lists pods matching the filter (id prefix, state, labels).
func (s *Server) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	return &runtimeapi.ListPodSandboxResponse{Items: s.listPods(req.GetFilter())}, nil
}

func (s *Server) listPods(f *runtimeapi.PodSandboxFilter) []*runtimeapi.PodSandbox {
	var out []*runtimeapi.PodSandbox
	for _, sb := range s.pods.List() {
		if !podMatches(sb, f) {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{
			Id: sb.ID, Metadata: sb.Metadata(), State: sb.State(), CreatedAt: sb.CreatedAt,
			Labels: sb.Config.Labels, Annotations: sb.Config.Annotations, RuntimeHandler: sb.ReportedHandler(),
		})
	}
	return out
}

func podMatches(sb *sandbox.Sandbox, f *runtimeapi.PodSandboxFilter) bool {
	if f == nil {
		return true
	}
	if f.Id != "" && !strings.HasPrefix(sb.ID, f.Id) {
		return false
	}
	if f.State != nil && f.State.State != sb.State() {
		return false
	}
	return labelsMatch(sb.Config.Labels, f.LabelSelector)
}

func labelsMatch(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
