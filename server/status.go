package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/oci"
)

// Status reports whether the runtime and the network are ready, the runtime
// handlers and their features; verbose adds the effective config (crictl info).
func (s *Server) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	cfg := s.Config()
	runtimeCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	def := cfg.Crio.Runtime.Runtimes[cfg.Crio.Runtime.DefaultRuntime]
	if _, err := oci.RuntimePath(cfg.Crio.Runtime.DefaultRuntime, def); err != nil {
		runtimeCond.Status, runtimeCond.Reason, runtimeCond.Message = false, "RuntimeNotFound", err.Error()
	} else if _, err := oci.MonitorPath(def); err != nil {
		runtimeCond.Status, runtimeCond.Reason, runtimeCond.Message = false, "MonitorNotFound", err.Error()
	}
	netCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	// The pods' network manager: its cached config and the pod CIDR from
	// UpdateRuntimeConfig, as RunPodSandbox sees them.
	if err := s.pods.Network().Ready(); err != nil {
		netCond.Status, netCond.Reason, netCond.Message = false, "NetworkPluginNotReady", err.Error()
	}
	resp := &runtimeapi.StatusResponse{
		Status:   &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{runtimeCond, netCond}},
		Features: &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}
	// "" is the default handler (api.proto), then every named one.
	for _, name := range append([]string{""}, cfg.HandlerNames()...) {
		h := name
		if h == "" {
			h = cfg.Crio.Runtime.DefaultRuntime
		}
		path, _ := oci.RuntimePath(h, cfg.Crio.Runtime.Runtimes[h])
		resp.RuntimeHandlers = append(resp.RuntimeHandlers, &runtimeapi.RuntimeHandler{
			Name:     name,
			Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: oci.RecursiveReadOnly(path)},
		})
	}
	if req.GetVerbose() {
		data, err := cfg.StatusInfo()
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"config": data}
	}
	return resp, nil
}
