package server

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/pkg/config"
)

// Status reports whether the runtime and the network are ready, the runtime
// handlers and their features; verbose adds the effective config (crictl info).
func (s *Server) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	cfg := s.Config()
	runtimeCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	defName := cfg.Crio.Runtime.DefaultRuntime
	def := cfg.Crio.Runtime.Runtimes[defName]
	defPath, err := oci.RuntimePath(defName, def)
	if err != nil {
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
	// "" is the default handler (api.proto), then every named one; each
	// runtime is looked up once per call ("" and the default's name share).
	for _, name := range append([]string{""}, cfg.HandlerNames()...) {
		h := name
		if h == "" {
			h = defName
		}
		path := defPath
		if h != defName {
			path, _ = oci.RuntimePath(h, cfg.Crio.Runtime.Runtimes[h])
		}
		var userns bool
		if path != "" && cfg.Crio.Runtime.Runtimes[h] != nil {
			userns = oci.Features(path).UserNamespaces
		}
		resp.RuntimeHandlers = append(resp.RuntimeHandlers, &runtimeapi.RuntimeHandler{
			Name: name,
			Features: &runtimeapi.RuntimeHandlerFeatures{
				RecursiveReadOnlyMounts: oci.RecursiveReadOnly(path),
				UserNamespaces:          userns,
			},
		})
	}
	if req.GetVerbose() {
		data, err := s.configInfo(cfg)
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"config": data}
	}
	return resp, nil
}

// configInfo is cfg as verbose Status reports it. A config is never changed
// once stored (a reload stores a new one), so its encoding, ~2 ms, is made
// once per config.
type configInfo struct {
	cfg  *config.Config
	data string
}

func (s *Server) configInfo(cfg *config.Config) (string, error) {
	if c := s.info.Load(); c != nil && c.cfg == cfg {
		return c.data, nil
	}
	data, err := cfg.StatusInfo()
	if err != nil {
		return "", err
	}
	s.info.Store(&configInfo{cfg, data})
	return data, nil
}
