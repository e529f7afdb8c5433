package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cgroups"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
)

// PodResources are the last resources RunPodSandbox or
// UpdatePodSandboxResources gave a pod, kept in the pod's record.
type PodResources struct {
	Overhead  json.RawMessage `json:"overhead,omitempty"`  // protojson LinuxContainerResources
	Resources json.RawMessage `json:"resources,omitempty"` // protojson LinuxContainerResources
	// Applied says whether the pod cgroup existed and took the limits.
	Applied   bool  `json:"applied"`
	UpdatedAt int64 `json:"updatedAt"`
}

// oldResourcesKind is where daemons before the pod record held them
// kept pod resources, one record per pod (same fields plus podId);
// Restore moves them into the pod records.
const oldResourcesKind = "pod-resources"

// cgroupLayout is where the cgroup controllers are mounted, found once.
var cgroupLayout = sync.OnceValue(func() cgroups.Layout {
	l, _ := cgroups.DetectLayout() // no cgroups: every write finds no pod cgroup
	return l
})

// UpdateResources applies resources plus overhead to the pod cgroup when
// it exists, and records them in the pod's record.
func (m *Manager) UpdateResources(ctx context.Context, sb *Sandbox, overhead, resources *runtimeapi.LinuxContainerResources) error {
	var err error
	rec := &PodResources{UpdatedAt: time.Now().UnixNano()}
	if rec.Overhead, err = marshalResources(overhead); err != nil {
		return err
	}
	if rec.Resources, err = marshalResources(resources); err != nil {
		return err
	}
	total := toStatsResources(resources).Add(toStatsResources(overhead))
	rel, err := cgroups.PodCgroup(sb.CgroupParent, m.opts.CgroupManager)
	if err != nil {
		return errdefs.FailedPrecondition("pod cgroup parent: %v", err)
	}
	switch err := cgroupLayout().Apply(rel, total); {
	case errors.Is(err, cgroups.ErrNoCgroup):
		logging.From(ctx).Debug("pod has no cgroup yet; resources recorded only", "pod", sb.ID, "cgroupParent", sb.CgroupParent)
	case err != nil:
		// %v: a cgroup file's fs.ErrNotExist is no missing object, so the
		// answer stays Unknown rather than NotFound.
		return fmt.Errorf("update pod cgroup %s: %v", rel, err)
	default:
		rec.Applied = true
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

func toStatsResources(r *runtimeapi.LinuxContainerResources) cgroups.Resources {
	if r == nil {
		return cgroups.Resources{}
	}
	return cgroups.Resources{
		CPUShares: uint64(r.CpuShares), CPUQuota: r.CpuQuota, CPUPeriod: uint64(r.CpuPeriod),
		MemoryLimit: r.MemoryLimitInBytes, CpusetCpus: r.CpusetCpus, CpusetMems: r.CpusetMems, Unified: r.Unified,
	}
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
