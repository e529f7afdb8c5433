// Package sandbox is the pod model: pinned namespaces, the pod's files, its
// network attachment, and the crash-safe record of each pod.
package sandbox

import (
	"encoding/json"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/network"
	"github.com/crio-runtime/crio/internal/proc"
)

// Sandbox is one pod. Exported fields are its persisted record; mu
// serialises stop and remove.
type Sandbox struct {
	ID             string     `json:"id"`
	Config         *PodConfig `json:"config"`
	CreatedAt      int64      `json:"createdAt"`
	Ready          bool       `json:"ready"`
	RuntimeHandler string     `json:"runtimeHandler"`
	// HandlerDefaulted is true when the request named no handler: status
	// then reports "" as asked, while RuntimeHandler is the one used.
	HandlerDefaulted bool                `json:"handlerDefaulted,omitempty"`
	Hostname         string              `json:"hostname"`
	Dir              string              `json:"dir"`
	Files            Files               `json:"files"`
	Namespaces       map[NS]string       `json:"namespaces"`
	Network          *network.Attachment `json:"network,omitempty"`
	// IPs stay reported after stop, as the kubelet reads them from status.
	IPs          []string `json:"ips,omitempty"`
	CgroupParent string   `json:"cgroupParent"`
	// InfraPID is the pause process of a pod whose containers share one
	// PID namespace; 0 otherwise. InfraStart is its start time: a pid alone
	// is no identity once the process died and the pid was reused.
	InfraPID   int    `json:"infraPid,omitempty"`
	InfraStart uint64 `json:"infraStart,omitempty"`
	// InfraPending marks a pod recorded before its infra process runs; a
	// record still pending at restart is a RunPodSandbox that never
	// finished, and is undone.
	InfraPending bool `json:"infraPending,omitempty"`
	// Resources are the pod's last resources (see UpdateResources).
	Resources *PodResources `json:"podResources,omitempty"`

	mu      sync.Mutex
	removed bool // set by Remove under mu
	// stateMu guards Ready, the infra fields, Namespaces and Network while
	// the pod is listed: status, events and creates read them while a stop
	// (holding mu) changes them.
	stateMu sync.RWMutex
	// hidden: created but not yet handed to a client (see Publish).
	hidden atomic.Bool
	// infra holds the infra process by a pidfd for InfraRunning (opened on
	// first use, closed when the infra is stopped or the pod removed).
	infraMu sync.Mutex
	infra   *proc.Handle
}

// PIDNamespace is the shared PID namespace containers join, if any: the
// namespace pinned when the infra started, never /proc/<pid>, whose pid may
// name another process by now.
func (s *Sandbox) PIDNamespace() string {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	if s.InfraPID == 0 {
		return ""
	}
	return s.Namespaces[PIDNS]
}

// HasInfra reports whether the pod has an infra process, running or being
// created (not one that was stopped).
func (s *Sandbox) HasInfra() bool {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	return s.InfraPID != 0 || s.InfraPending
}

// InfraRunning reports whether the pod's infra process, if it has one, is
// still the process recorded at its start.
func (s *Sandbox) InfraRunning() bool {
	s.stateMu.RLock()
	pid, start := s.InfraPID, s.InfraStart
	s.stateMu.RUnlock()
	if pid == 0 {
		return true
	}
	s.infraMu.Lock()
	h := s.infra
	if h == nil || !h.Names(pid, start) {
		if h != nil {
			h.Close()
		}
		h = proc.Open(pid, start)
		s.infra = h
	}
	s.infraMu.Unlock()
	return h.Alive()
}

// dropInfraHandle closes the infra's pidfd once the infra is stopped.
func (s *Sandbox) dropInfraHandle() {
	s.infraMu.Lock()
	defer s.infraMu.Unlock()
	if s.infra != nil {
		s.infra.Close()
		s.infra = nil
	}
}

// Namespace is the path where the pod pins namespace kind ("" when the
// pod uses the host's or has been stopped).
func (s *Sandbox) Namespace(kind NS) string {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	return s.Namespaces[kind]
}

// NamespacePaths is a copy of the pod's pinned namespaces.
func (s *Sandbox) NamespacePaths() map[NS]string {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	return maps.Clone(s.Namespaces)
}

// IsReady reports the recorded readiness (State also checks the infra).
func (s *Sandbox) IsReady() bool {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	return s.Ready
}

// ReportedHandler is the runtime handler as the client asked for it.
func (s *Sandbox) ReportedHandler() string {
	if s.HandlerDefaulted {
		return ""
	}
	return s.RuntimeHandler
}

// Metadata is a shortcut for the pod's CRI metadata.
func (s *Sandbox) Metadata() *runtimeapi.PodSandboxMetadata { return s.Config.GetMetadata() }

// NamespaceOptions are the pod's namespace modes.
func (s *Sandbox) NamespaceOptions() *runtimeapi.NamespaceOption {
	return s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()
}

// State is the CRI state: a pod whose infra process exited is not ready
// (its shared PID namespace is gone with it).
func (s *Sandbox) State() runtimeapi.PodSandboxState {
	if s.IsReady() && s.InfraRunning() {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// Created is the creation time.
func (s *Sandbox) Created() time.Time { return time.Unix(0, s.CreatedAt) }

// PodConfig persists a PodSandboxConfig as protobuf JSON, which keeps every
// field exactly (labels, annotations, metadata) across restarts.
type PodConfig struct {
	*runtimeapi.PodSandboxConfig
}

// MarshalJSON encodes the config with protojson.
func (p *PodConfig) MarshalJSON() ([]byte, error) {
	return protojson.Marshal(p.PodSandboxConfig)
}

// UnmarshalJSON decodes protojson.
func (p *PodConfig) UnmarshalJSON(b []byte) error {
	p.PodSandboxConfig = &runtimeapi.PodSandboxConfig{}
	return protojson.Unmarshal(b, p.PodSandboxConfig)
}

var _ json.Marshaler = (*PodConfig)(nil)
