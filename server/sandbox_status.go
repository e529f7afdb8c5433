package server

import (
	"context"
	"encoding/json"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/sandbox"
)

// PodSandboxStatus reports a pod's state, IPs and namespaces.
func (s *Server) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: podStatus(sb)}
	if req.Verbose {
		fields := map[string]any{
			"namespaces": sb.NamespacePaths(), "dir": sb.Dir, "files": sb.Files, "hostname": sb.Hostname,
			"cgroupParent": sb.CgroupParent, "runtimeHandler": sb.RuntimeHandler,
		}
		// Verbose status (crictl inspectp) asks the plugins to CHECK the
		// pod's network, for operators debugging a node.
		if checked, err := s.pods.CheckNetwork(ctx, sb); checked {
			fields["networkCheck"] = "ok"
			if err != nil {
				fields["networkCheck"] = err.Error()
			}
		}
		info, err := json.Marshal(fields)
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

func podStatus(sb *sandbox.Sandbox) *runtimeapi.PodSandboxStatus {
	st := &runtimeapi.PodSandboxStatus{
		Id:             sb.ID,
		Metadata:       sb.Metadata(),
		State:          sb.State(),
		CreatedAt:      sb.CreatedAt,
		Labels:         sb.Config.Labels,
		Annotations:    sb.Config.Annotations,
		RuntimeHandler: sb.ReportedHandler(),
		Network:        &runtimeapi.PodSandboxNetworkStatus{},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{
			Options: sb.NamespaceOptions(),
		}},
	}
	if len(sb.IPs) > 0 {
		st.Network.Ip = sb.IPs[0]
		for _, ip := range sb.IPs[1:] {
			st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
		}
	}
	return st
}
