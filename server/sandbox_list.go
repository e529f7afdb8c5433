package server

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/sandbox"
)

// ListPodSandbox lists pods matching the filter (id prefix, state, labels).
// Each entry but its state is encoded once per pod (see list_encoding.go).
func (s *Server) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f := req.GetFilter()
	buf, ok := s.podEntries.encode(s.pods.List(), listing[*sandbox.Sandbox]{
		field: podItemsField, stateField: podState,
		matches: func(sb *sandbox.Sandbox) bool { return podMatches(sb, f) },
		item:    func(sb *sandbox.Sandbox) proto.Message { return podItem(sb, 0) },
		state:   func(sb *sandbox.Sandbox) int32 { return int32(sb.State()) },
	})
	if !ok {
		return &runtimeapi.ListPodSandboxResponse{Items: s.listPods(f)}, nil
	}
	resp := &runtimeapi.ListPodSandboxResponse{}
	resp.ProtoReflect().SetUnknown(buf)
	return resp, nil
}

// listPods is the filter's pods as messages.
func (s *Server) listPods(f *runtimeapi.PodSandboxFilter) []*runtimeapi.PodSandbox {
	var out []*runtimeapi.PodSandbox
	for _, sb := range s.pods.List() {
		if podMatches(sb, f) {
			out = append(out, podItem(sb, sb.State()))
		}
	}
	return out
}

// podItem is sb's list entry.
func podItem(sb *sandbox.Sandbox, state runtimeapi.PodSandboxState) *runtimeapi.PodSandbox {
	return &runtimeapi.PodSandbox{
		Id: sb.ID, Metadata: sb.Metadata(), State: state, CreatedAt: sb.CreatedAt,
		Labels: sb.Config.Labels, Annotations: sb.Config.Annotations, RuntimeHandler: sb.ReportedHandler(),
	}
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
