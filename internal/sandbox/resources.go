package sandbox

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
)

// PodResources are the last resources RunPodSandbox or
// UpdatePodSandboxResources gave a pod, kept in the pod's record.
type PodResources struct {
	Overhead  json.RawMessage `json:"overhead,omitempty"`  // protojson LinuxContainerResources
	Resources json.RawMessage `json:"resources,omitempty"` // protojson LinuxContainerResources
	UpdatedAt int64           `json:"updatedAt"`
}

// oldResourcesKind is where daemons before the pod record held them
// kept pod resources, one record per pod (same fields plus podId);
// Restore moves them into the pod records.
const oldResourcesKind = "pod-resources"

// UpdateResources records a pod's resources and overhead. They are not
// written to the pod cgroup: it is the kubelet's, set before RunPodSandbox
// and, on a resize, after UpdatePodSandboxResources in an order that keeps
// each child under its parent. The kubelet sends the sum of the limits that
// are set (a pod with an unlimited container would be capped), and an early
// lower CPU quota fails (EINVAL), which the kubelet takes as a refused resize.
func (m *Manager) UpdateResources(sb *Sandbox, overhead, resources *runtimeapi.LinuxContainerResources) error {
	var err error
	rec := &PodResources{UpdatedAt: time.Now().UnixNano()}
	if rec.Overhead, err = marshalResources(overhead); err != nil {
		return err
	}
	if rec.Resources, err = marshalResources(resources); err != nil {
		return err
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.removed {
		return errdefs.NotFound("pod sandbox %s was removed", sb.ID)
	}
	sb.Resources = rec
	return m.store.Put(recordKind, sb.ID, sb)
}

func marshalResources(r *runtimeapi.LinuxContainerResources) (json.RawMessage, error) {
	if r == nil {
		return nil, nil
	}
	return protojson.Marshal(r)
}

// upgradeResources moves the pod resources an older daemon kept in their
// own records into the pod records, and drops those of pods that are
// gone. A record that cannot be moved stays for the next start.
func (m *Manager) upgradeResources(ctx context.Context) {
	_ = m.store.List(oldResourcesKind, func(id string, data []byte) error {
		if sb, ok := m.index.Get(id); ok && sb.Resources == nil {
			rec := &PodResources{}
			if json.Unmarshal(data, rec) == nil {
				sb.Resources = rec
				if err := m.store.Put(recordKind, id, sb); err != nil {
					logging.From(ctx).Warn("move pod resources into the pod record", "pod", id, "error", err)
					return nil
				}
			}
		}
		_ = m.store.Delete(oldResourcesKind, id)
		return nil
	})
}
