package container

import (
	"sync"
	"time"

	"github.com/crio-runtime/crio/internal/cgroups"
)

// hostLayout is the host's cgroup mounts, found once.
var hostLayout = sync.OnceValues(cgroups.DetectLayout)

// dropCgroup removes an exited container's cgroup, now empty, in the
// background. runc leaves it until its delete (RemoveContainer), which the
// kubelet defers while it keeps the container for its status and logs;
// meanwhile cAdvisor reports the dead cgroup beside the restarted
// container's, under the same pod and name, with zeros (/metrics/cadvisor).
// containerd's shim deletes at exit; here only the cgroup goes, and runc's
// state stays for RemoveContainer. With the systemd driver systemd removes
// the empty scope itself.
func (m *Manager) dropCgroup(c *Container) {
	if m.cfg().Crio.Runtime.CgroupManager == "systemd" {
		return
	}
	sp := c.Spec()
	if sp == nil || sp.Linux == nil || sp.Linux.CgroupsPath == "" {
		return
	}
	rel, err := cgroups.ContainerCgroup(sp.Linux.CgroupsPath)
	if err != nil {
		return
	}
	// A container removed right after its stop (a pod's deletion, critest)
	// has its cgroup go with the runtime's delete: only one kept past
	// dropDelay has it removed here, out of the way of the calls after
	// the stop.
	time.AfterFunc(dropDelay, func() {
		l, err := hostLayout()
		if err != nil {
			return
		}
		// The last process may still be leaving: a few tries.
		for i := 0; i < 5; i++ {
			if _, kept := m.index.Get(c.ID); !kept || cgroups.RemoveEmpty(l, rel) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// dropDelay is how long an exited container's cgroup waits for its
// removal before it goes alone (cAdvisor looks every 10-15 s).
const dropDelay = time.Second
