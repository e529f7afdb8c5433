package sandbox

import (
	"context"
	"sync"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cgroups"
	"github.com/crio-runtime/crio/internal/logging"
)

// cgroupLayout is where the cgroup controllers are mounted, found once.
var cgroupLayout = sync.OnceValue(func() cgroups.Layout {
	l, _ := cgroups.DetectLayout() // no cgroups: no stats cgroup is made
	return l
})

// statsCgroup is the empty cgroup a pod without an infra process gets at
// <cgroup_parent>/crio-<pod id>, as CRI-O makes for a pod whose infra it
// dropped. cAdvisor (the kubelet's stats for a CRI-O endpoint, and
// /metrics/cadvisor) finds containers by their cgroups and counts a pod's
// network on its "POD" container: without this cgroup such a pod has no
// network stats there. The HTTP API's /containers/<pod id> names a running
// container of the pod as its pid (server/inspect.go). It is "" when
// cAdvisor would not look: the systemd driver (cAdvisor skips sandbox
// cgroups there), no cgroup parent, the host's network, or a pod whose
// infra process has the cgroup already.
func (m *Manager) statsCgroup(sb *Sandbox) string {
	nso := sb.NamespaceOptions()
	if m.opts.CgroupManager == "systemd" || sb.CgroupParent == "" ||
		nso.GetNetwork() == runtimeapi.NamespaceMode_NODE || nso.GetPid() == runtimeapi.NamespaceMode_POD {
		return ""
	}
	rel, err := cgroups.PodCgroup(sb.CgroupParent, m.opts.CgroupManager)
	if err != nil || rel == "" {
		return ""
	}
	return rel + "/crio-" + sb.ID
}

// makeStatsCgroup creates the pod's stats cgroup, if it gets one.
func (r *podRun) makeStatsCgroup(ctx context.Context) error {
	if rel := r.m.ensureStatsCgroup(ctx, r.sb); rel != "" {
		r.undo.Push(func() { cgroups.RemoveEmpty(cgroupLayout(), rel) })
	}
	return nil
}

// ensureStatsCgroup creates the pod's stats cgroup, if it gets one, and
// says which. It only feeds metrics: a failure is logged, not the pod's.
func (m *Manager) ensureStatsCgroup(ctx context.Context, sb *Sandbox) string {
	rel := m.statsCgroup(sb)
	if rel == "" {
		return ""
	}
	if err := cgroups.MakeEmpty(cgroupLayout(), rel); err != nil {
		logging.From(ctx).Warn("create the pod's cgroup for its network stats", "pod", sb.ID, "error", err)
	}
	return rel
}

// dropStatsCgroup removes the stats cgroup of a stopped pod: cAdvisor then
// stops reporting it.
func (m *Manager) dropStatsCgroup(ctx context.Context, sb *Sandbox) {
	if rel := m.statsCgroup(sb); rel != "" && !cgroups.RemoveEmpty(cgroupLayout(), rel) {
		logging.From(ctx).Warn("remove the pod's cgroup for its network stats", "pod", sb.ID, "cgroup", rel)
	}
}
