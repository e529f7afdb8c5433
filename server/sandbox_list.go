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
	all := f == nil || f.Id == "" && f.State == nil && len(f.LabelSelector) == 0
	var buf []byte
	pods := s.pods.List()
	for _, sb := range pods {
		if !all && !podMatches(sb, f) {
			continue
		}
		entry := s.podEntries.get(sb, func() proto.Message { return podItem(sb, 0) })
		if entry == nil {
			return &runtimeapi.ListPodSandboxResponse{Items: s.listPods(f)}, nil
		}
		if buf == nil && all {
			buf = make([]byte, 0, (len(entry)+listEntryOverhead)*len(pods))
		}
		buf = appendEntry(buf, podItemsField, entry, podState, int32(sb.State()))
	}
	if all {
		s.podEntries.keepOnly(pods) // all were listed: the others are gone
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
