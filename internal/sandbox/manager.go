package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/network"
	"github.com/crio-runtime/crio/internal/state"
)

const recordKind = "pods"

// Options are the manager's fixed settings.
type Options struct {
	RunDir        string // pods' files live in RunDir/<id>
	NamespacesDir string
	CgroupManager string
	ShmSize       int64
	// NoHostPorts (disable_hostport_mapping) keeps port mappings from CNI:
	// someone else maps host ports, so the portmap plugin is not called.
	NoHostPorts bool
}

// Containers is what pods ask of the container manager: a pod's stop and
// remove take its containers first (see stopLocked and remove).
type Containers interface {
	StopPodContainers(ctx context.Context, podID string) error
	RemovePodContainers(ctx context.Context, podID string) error
	// StartInfra runs the infra process of a pod that shares one PID
	// namespace and returns its pid and start time; StopInfra ends it (and
	// any runtime container of the pod's id, even one never recorded),
	// leaving the runtime's delete of the dead process to ReapInfra.
	StartInfra(ctx context.Context, sb *Sandbox) (int, uint64, error)
	StopInfra(ctx context.Context, sb *Sandbox) error
	// ReapInfra deletes a stopped infra's runtime container and files in
	// the background; the pod's stop calls it once the stop is recorded.
	ReapInfra(ctx context.Context, sb *Sandbox)
	// ReapPod runs cleanup in the background once the pod's containers
	// and infra are deleted; shutdown waits for it.
	ReapPod(ctx context.Context, podID string, cleanup func() error)
}

// Deps are what the manager works with, all given at construction.
type Deps struct {
	Pods       *Pods // the index the manager fills
	Store      *state.Store
	Network    *network.Manager
	Containers Containers
}

// Manager owns all pods; Get, List, Lookup and Exists come from Pods.
type Manager struct {
	*Pods
	opts       Options
	store      *state.Store
	net        *network.Manager
	containers Containers

	names  *state.Names
	checks netChecks // background CNI CHECKs (netcheck.go)
	// afterStep, set only by tests, may fail a Run after its named step.
	afterStep func(step string) error
}

// NewManager returns an empty manager; Restore loads what is on disk.
func NewManager(opts Options, deps Deps) *Manager {
	return &Manager{
		Pods: deps.Pods, opts: opts, store: deps.Store, net: deps.Network, containers: deps.Containers,
		names: state.NewNames(),
	}
}

// Network is the CNI manager (for readiness and UpdateRuntimeConfig).
func (m *Manager) Network() *network.Manager { return m.net }

func reservationKey(md *runtimeapi.PodSandboxMetadata) string {
	return fmt.Sprintf("%s_%s_%s_%d", md.Name, md.Namespace, md.Uid, md.Attempt)
}

func (m *Manager) reserve(key, id string) error {
	if other, err := m.names.Reserve(key, id); err != nil {
		return errdefs.AlreadyExists("pod sandbox %s already exists as %s", key, other)
	}
	return nil
}

func (m *Manager) release(key, id string) { m.names.Release(key, id) }

// update is the one way a pod's record changes: change (nil: none) edits it
// under the pod's state lock, and the record is then persisted.
func (m *Manager) update(sb *Sandbox, change func(*Sandbox)) error {
	sb.stateMu.Lock()
	defer sb.stateMu.Unlock()
	if change != nil {
		change(sb)
	}
	if err := m.store.Put(recordKind, sb.ID, sb); err != nil {
		return fmt.Errorf("persist pod %s: %w", sb.ID, err)
	}
	return nil
}

// persistLater records the pod's IPs after RunPodSandbox returned; a pod
// removed in the meantime stays removed.
func (m *Manager) persistLater(sb *Sandbox) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !sb.removed {
		_ = m.update(sb, nil)
	}
}

// restoreIPs completes the record of a pod whose daemon died between
// recording it and recording its IPs: from libcni's cache if ADD finished,
// else the pod never got its network and is stopped.
func (m *Manager) restoreIPs(ctx context.Context, sb *Sandbox) {
	ips, ok, err := m.net.CachedIPs(m.cniPod(sb, sb.Namespaces[NetNS]), sb.Network)
	if !ok {
		log := logging.From(ctx).With("pod", sb.ID)
		if err != nil {
			log = log.With("error", err) // the cache could not be read
		}
		log.Warn("pod network setup did not finish; stopping the pod")
		_ = m.stopLocked(ctx, sb)
		return
	}
	_ = m.update(sb, func(sb *Sandbox) { sb.IPs, sb.Network.IPs = ips, ips })
}

func (m *Manager) checkCgroupParent(parent string) error {
	if parent == "" {
		return nil
	}
	if m.opts.CgroupManager == "systemd" {
		if !strings.HasSuffix(parent, ".slice") || strings.Contains(parent, "/") {
			return errdefs.Invalid("config.linux.cgroup_parent", "%q: the systemd cgroup driver needs a slice name like kubepods-besteffort-pod<uid>.slice", parent)
		}
		return nil
	}
	if !strings.HasPrefix(parent, "/") || strings.Contains(parent, "..") {
		return errdefs.Invalid("config.linux.cgroup_parent", "%q: the cgroupfs driver needs an absolute path", parent)
	}
	return nil
}

func (m *Manager) cniPod(sb *Sandbox, netns string) network.Pod {
	md := sb.Metadata()
	p := network.Pod{
		ID: sb.ID, Name: md.Name, Namespace: md.Namespace, UID: md.Uid, NetNS: netns,
		PortMappings: sb.Config.GetPortMappings(),
		Annotations:  sb.Config.GetAnnotations(), CgroupPath: sb.CgroupParent,
	}
	if m.opts.NoHostPorts {
		p.PortMappings = nil
	}
	// Validated at run; a bad value here (an old record) just means no shaping.
	p.IngressBPS, _ = network.ParseBandwidth(sb.Config.Annotations[network.IngressBandwidthAnnotation])
	p.EgressBPS, _ = network.ParseBandwidth(sb.Config.Annotations[network.EgressBandwidthAnnotation])
	return p
}

// Stop stops the pod's containers, tears down its network and releases its
// namespaces; the pod stays listable as NOTREADY. Unknown ids succeed.
func (m *Manager) Stop(ctx context.Context, idOrPrefix string) error {
	sb, err := m.Get(idOrPrefix)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return m.stopLocked(ctx, sb)
}

// stopLocked stops the pod: its containers, then its infra process and
// its network side by side (the network's DEL needs the netns pin, not the
// processes; CRI-O also tears the network down before the infra), then
// its namespaces; then the record says NOTREADY. The runtime's delete of
// the dead infra starts once that is recorded, so a crash in it leaves a
// stopped pod whose infra the start-time sweep deletes. The caller holds
// sb.mu.
func (m *Manager) stopLocked(ctx context.Context, sb *Sandbox) error {
	if err := m.stopContainers(ctx, sb); err != nil {
		return err
	}
	type infraResult struct {
		stopped bool
		err     error
	}
	infra := make(chan infraResult, 1)
	go func() {
		stopped, err := m.stopInfra(ctx, sb)
		infra <- infraResult{stopped, err}
	}()
	netErr := m.stopNetwork(ctx, sb)
	res := <-infra
	if res.stopped {
		defer m.containers.ReapInfra(ctx, sb)
	}
	if err := errors.Join(res.err, netErr); err != nil {
		return err
	}
	if err := m.releaseNamespaces(ctx, sb); err != nil {
		return err
	}
	m.dropStatsCgroup(ctx, sb)
	return m.update(sb, func(sb *Sandbox) { sb.Namespaces, sb.Ready = nil, false })
}

func (m *Manager) stopContainers(ctx context.Context, sb *Sandbox) error {
	if m.containers == nil {
		return nil
	}
	if err := m.containers.StopPodContainers(ctx, sb.ID); err != nil {
		return fmt.Errorf("stop containers of pod %s: %w", sb.ID, err)
	}
	return nil
}

// stopInfra ends the pod's infra process, if it has one; stopped says it
// did, and the infra is then left for ReapInfra.
func (m *Manager) stopInfra(ctx context.Context, sb *Sandbox) (stopped bool, _ error) {
	if (sb.InfraPID == 0 && !sb.InfraPending) || m.containers == nil {
		return false, nil
	}
	if err := m.containers.StopInfra(ctx, sb); err != nil {
		return false, fmt.Errorf("stop pod infra process: %w", err)
	}
	sb.stateMu.Lock()
	sb.InfraPID, sb.InfraPending = 0, false
	sb.stateMu.Unlock()
	sb.dropInfraHandle()
	return true, nil
}

func (m *Manager) stopNetwork(ctx context.Context, sb *Sandbox) error {
	if sb.Network == nil {
		return nil
	}
	netns := sb.Namespaces[NetNS]
	if netns != "" && !isNsfs(netns) {
		// The namespace is gone (a reboot, or destroyed by hand): DEL
		// without one still releases the IP, as the CNI spec allows;
		// plugins refuse a path that is no namespace.
		logging.From(ctx).Warn("removed netns path from pod sandbox: not a network namespace", "pod", sb.ID, "netns", netns)
		netns = ""
	}
	if err := m.net.Teardown(ctx, m.cniPod(sb, netns), sb.Network); err != nil {
		return err
	}
	sb.stateMu.Lock()
	sb.Network = nil
	sb.stateMu.Unlock()
	return nil
}

func (m *Manager) releaseNamespaces(ctx context.Context, sb *Sandbox) error {
	if err := Unpin(sb.Namespaces); err != nil {
		return fmt.Errorf("release pod namespaces: %w", err)
	}
	// Also whatever sits at the pod's own pin names but is no longer in
	// its record (a reboot or a lost namespace leaves a plain file there,
	// as CRI-O's "invalid netns" case): left, it would leak.
	if err := Unpin(pinsOf(m.opts.NamespacesDir, sb.ID)); err != nil {
		logging.From(ctx).Warn("remove stale pod namespace files", "pod", sb.ID, "error", err)
	}
	return nil
}

// Remove stops the pod if needed, removes its containers and all its state.
// Unknown ids succeed.
func (m *Manager) Remove(ctx context.Context, idOrPrefix string) error {
	sb, err := m.Get(idOrPrefix)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.remove(ctx, sb)
}

// remove answers once the pod is gone from every view: stopped (its IP
// released, its namespaces unpinned), its containers' and its own records
// deleted, its name free for a new pod. The runtime deletes of its
// containers and infra, their rootfs and bundles, and the pod's own files
// (hosts, resolv.conf, ...) go on in the background, ~30 ms; a daemon killed
// before they finish leaves what the start-time sweeps remove (SweepRuntime
// for the runtime's part, sweepFiles here).
func (m *Manager) remove(ctx context.Context, sb *Sandbox) error {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if err := m.stopLocked(ctx, sb); err != nil {
		return err
	}
	if m.containers != nil {
		if err := m.containers.RemovePodContainers(ctx, sb.ID); err != nil {
			return fmt.Errorf("remove containers of pod %s: %w", sb.ID, err)
		}
	}
	// The shm goes now (a mount is cheap to end, and none may outlive
	// the answer); the files under it in the pod's reap.
	if err := unmountShm(sb.Dir); err != nil {
		return fmt.Errorf("remove pod files: %w", err)
	}
	if err := m.store.Delete(recordKind, sb.ID); err != nil {
		return err
	}
	sb.removed = true
	sb.dropInfraHandle()
	m.index.Remove(sb.ID)
	m.forgetNetCheck(sb.ID)
	m.release(reservationKey(sb.Metadata()), sb.ID)
	dir := sb.Dir
	if m.containers == nil {
		return RemoveFiles(dir)
	}
	m.containers.ReapPod(ctx, sb.ID, func() error { return RemoveFiles(dir) })
	return nil
}

// Restore loads every pod record after a restart. Pods whose namespaces
// vanished (a reboot) are marked NOTREADY; their network is torn down so
// no IP stays allocated.
func (m *Manager) Restore(ctx context.Context) error {
	log := logging.From(ctx)
	err := m.store.List(recordKind, func(id string, data []byte) error {
		sb := &Sandbox{}
		if err := json.Unmarshal(data, sb); err != nil {
			log.Error("skipping unreadable pod record", "id", id, "error", err)
			return nil
		}
		if sb.InfraPending && m.undoPending(ctx, sb) {
			return nil
		}
		if sb.Ready {
			if netns, ok := sb.Namespaces[NetNS]; ok && !isNsfs(netns) {
				log.Warn("pod namespaces are gone; marking the pod not ready", "pod", id)
				_ = m.stopLocked(ctx, sb)
			} else {
				if sb.Network != nil && len(sb.IPs) == 0 {
					m.restoreIPs(ctx, sb)
				}
				m.ensureStatsCgroup(ctx, sb) // a pod run by a daemon before it had one
			}
		}
		m.index.Add(id, sb)
		_, _ = m.names.Reserve(reservationKey(sb.Metadata()), id)
		return nil
	})
	if err == nil {
		m.upgradeResources(ctx)
		m.sweepFiles(ctx)
	}
	return err
}

// undoPending removes a pod whose RunPodSandbox never finished (the daemon
// died before its infra ran): the client got no id, so nothing else will.
// It reports whether the pod is gone; if not, it stays, NOTREADY, for
// RemovePodSandbox.
func (m *Manager) undoPending(ctx context.Context, sb *Sandbox) bool {
	log := logging.From(ctx)
	log.Warn("pod creation did not finish before the daemon stopped; removing the pod", "pod", sb.ID)
	if err := m.stopLocked(ctx, sb); err != nil {
		log.Error("undo unfinished pod", "pod", sb.ID, "error", err)
		return false
	}
	if err := RemoveFiles(sb.Dir); err != nil {
		log.Warn("undo unfinished pod: files", "pod", sb.ID, "error", err)
	}
	return m.store.Delete(recordKind, sb.ID) == nil
}
