package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/fault"
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

// ContainerHooks let the container manager take part in pod stop/remove.
type ContainerHooks struct {
	StopAll   func(ctx context.Context, podID string) error
	RemoveAll func(ctx context.Context, podID string) error
	// StartInfra runs the infra process of a pod that shares one PID
	// namespace and returns its pid and start time; StopInfra ends it (and
	// any runtime container of the pod's id, even one never recorded).
	StartInfra func(ctx context.Context, sb *Sandbox) (int, uint64, error)
	StopInfra  func(ctx context.Context, sb *Sandbox) error
}

// Manager owns all pods.
type Manager struct {
	opts  Options
	store *state.Store
	net   *network.Manager
	index *state.Index[*Sandbox]
	Hooks ContainerHooks

	names *state.Names
}

// NewManager returns an empty manager; Restore loads what is on disk.
func NewManager(opts Options, store *state.Store, net *network.Manager) *Manager {
	return &Manager{opts: opts, store: store, net: net, index: state.NewIndex[*Sandbox](), names: state.NewNames()}
}

// Network is the CNI manager (for readiness and UpdateRuntimeConfig).
func (m *Manager) Network() *network.Manager { return m.net }

func reservationKey(md *runtimeapi.PodSandboxMetadata) string {
	return fmt.Sprintf("%s_%s_%s_%d", md.Name, md.Namespace, md.Uid, md.Attempt)
}

func (m *Manager) reserve(key, id string) error {
	if other, err := m.names.Reserve(key, id); err != nil {
		return status.Errorf(codes.AlreadyExists, "pod sandbox %s already exists as %s", key, other)
	}
	return nil
}

func (m *Manager) release(key, id string) { m.names.Release(key, id) }

// Get resolves an id or unique prefix.
func (m *Manager) Get(idOrPrefix string) (*Sandbox, error) {
	_, sb, err := m.index.Resolve(idOrPrefix)
	if err == nil && sb.hidden.Load() {
		err = state.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, state.ErrAmbiguous) {
			return nil, status.Errorf(codes.InvalidArgument, "pod sandbox id %v", err)
		}
		return nil, status.Errorf(codes.NotFound, "pod sandbox %q not found", idOrPrefix)
	}
	return sb, nil
}

// List returns all pods ordered by id, but those not yet handed out.
func (m *Manager) List() []*Sandbox { return visible(m.index.List()) }

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Run creates a pod. Every step pushes its undo onto a cleanup stack that
// runs if a later step fails, so a failed run leaves nothing behind.
// RunOptions are per-pod settings that come from outside the CRI config
// (allowed annotations).
type RunOptions struct {
	ShmSize int64 // bytes of the pod's /dev/shm; 0 = the default
	// HandlerDefaulted: the request named no handler (see Sandbox).
	HandlerDefaulted bool
	// UserNamespaces: the handler's runtime can run pods in their own user
	// namespace (idmapped mounts); others are refused such pods.
	UserNamespaces bool
}

func (m *Manager) Run(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string, ro RunOptions, stages func(stage string, d time.Duration)) (_ *Sandbox, retErr error) {
	if err := ValidateConfig(cfg); err != nil {
		return nil, err
	}
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	sysctls, skipped, _ := SortSysctls(cfg.GetLinux().GetSysctls(), nso)
	if len(skipped) > 0 {
		logging.From(ctx).Warn("skipping pod sysctls of namespaces shared with the host", "pod", cfg.GetMetadata().GetName(), "sysctls", skipped)
	}
	if err := m.checkCgroupParent(cfg.GetLinux().GetCgroupParent()); err != nil {
		return nil, err
	}
	userns, err := checkUserns(nso, handler, ro.UserNamespaces)
	if err != nil {
		return nil, err
	}
	id := newID()
	key := reservationKey(cfg.Metadata)
	if err := m.reserve(key, id); err != nil {
		return nil, err
	}
	var undo []func()
	defer func() {
		if retErr != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	undo = append(undo, func() { m.release(key, id) })

	nodeName, _ := os.Hostname()
	sb := &Sandbox{
		ID: id, Config: &PodConfig{cfg}, CreatedAt: time.Now().UnixNano(), RuntimeHandler: handler,
		HandlerDefaulted: ro.HandlerDefaulted,
		Hostname:         Hostname(cfg, nodeName), Dir: filepath.Join(m.opts.RunDir, id),
		CgroupParent: cfg.GetLinux().GetCgroupParent(),
	}
	start := time.Now()
	var kinds []NS
	if nso.GetNetwork() != runtimeapi.NamespaceMode_NODE {
		kinds = append(kinds, NetNS, UTSNS) // host network means the node's hostname too
	}
	if nso.GetIpc() != runtimeapi.NamespaceMode_NODE {
		kinds = append(kinds, IPCNS)
	}
	sb.Namespaces, err = Pin(PinRequest{Dir: m.opts.NamespacesDir, Name: id, Kinds: kinds, Hostname: sb.Hostname, Sysctls: sysctls, Userns: userns})
	if err != nil {
		if status.Code(err) == codes.InvalidArgument {
			return nil, err
		}
		return nil, status.Errorf(codes.Internal, "create pod namespaces: %v", err)
	}
	undo = append(undo, func() { _ = Unpin(sb.Namespaces) })
	stages("namespaces", time.Since(start))

	// The plugins' ADD is the longest step: it runs while the pod's files
	// and record are written.
	added := func() error { return nil }
	if netns, ok := sb.Namespaces[NetNS]; ok {
		pod := m.cniPod(sb, netns)
		att, err := m.net.Plan(pod)
		if err != nil {
			return nil, status.Errorf(codes.Unknown, "set up pod network: %v", err)
		}
		sb.Network = att
		start = time.Now()
		type result struct {
			ips []string
			err error
		}
		done := make(chan result, 1)
		go func() {
			ips, err := m.net.Add(ctx, pod, att)
			done <- result{ips, err}
		}()
		added = sync.OnceValue(func() error {
			r := <-done
			stages("cni_add", time.Since(start))
			if r.err == nil {
				att.IPs = r.ips
			}
			return r.err
		})
		undo = append(undo, func() {
			if added() == nil {
				_ = m.net.Teardown(context.WithoutCancel(ctx), pod, att)
			}
		})
	}
	if err := os.MkdirAll(sb.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pod dir: %w", err)
	}
	undo = append(undo, func() { _ = RemoveFiles(sb.Dir) })
	shm := m.opts.ShmSize
	if ro.ShmSize > 0 {
		shm = ro.ShmSize
	}
	sb.Files, err = WriteFiles(sb.Dir, cfg, sb.Hostname, nso.GetIpc() == runtimeapi.NamespaceMode_NODE, shm)
	if err != nil {
		return nil, err
	}
	// Recorded before ADD finishes, with what DEL needs; the IPs follow
	// (and Restore reads them from the CNI cache if the daemon died first).
	// A pod sharing one PID namespace is ready only once its infra runs;
	// until then its record says so, and Restore undoes it.
	sharedPID := nso.GetPid() == runtimeapi.NamespaceMode_POD
	sb.Ready, sb.InfraPending = !sharedPID, sharedPID
	if err := m.store.Put(recordKind, id, sb); err != nil {
		return nil, fmt.Errorf("persist pod: %w", err)
	}
	undo = append(undo, func() { _ = m.store.Delete(recordKind, id) })
	if sharedPID {
		fault.Point("after-pod-record")
	}
	if err := added(); err != nil {
		return nil, status.Errorf(codes.Unknown, "set up pod network: %v", err)
	}
	if sb.Network != nil {
		sb.IPs = sb.Network.IPs
		if err := WriteHosts(sb.Files.Hosts, sb.Hostname, sb.IPs); err != nil {
			return nil, err
		}
	}
	if sharedPID {
		start = time.Now()
		if err := m.startInfra(ctx, sb, &undo); err != nil {
			return nil, err
		}
		stages("infra", time.Since(start))
	} else if len(sb.IPs) > 0 {
		go m.persistLater(sb)
	}
	sb.hidden.Store(true) // until Publish: the client has no id yet
	m.index.Add(id, sb)
	return sb, nil
}

// startInfra runs the pod's infra process, pins its PID namespace (the one
// containers join) and records the pod ready.
func (m *Manager) startInfra(ctx context.Context, sb *Sandbox, undo *[]func()) error {
	if m.Hooks.StartInfra == nil {
		return status.Error(codes.Unimplemented, "pods sharing one PID namespace need the container runtime")
	}
	*undo = append(*undo, func() { _ = m.Hooks.StopInfra(context.WithoutCancel(ctx), sb) })
	pid, startTime, err := m.Hooks.StartInfra(ctx, sb)
	if err != nil {
		return err
	}
	pinned, err := PinPID(m.opts.NamespacesDir, sb.ID, pid, startTime)
	if err != nil {
		return status.Errorf(codes.Unknown, "pod infra process: %v", err)
	}
	if sb.Namespaces == nil {
		sb.Namespaces = map[NS]string{}
	}
	sb.Namespaces[PIDNS] = pinned
	*undo = append(*undo, func() { _ = Unpin(map[NS]string{PIDNS: pinned}) })
	sb.InfraPID, sb.InfraStart = pid, startTime
	sb.Ready, sb.InfraPending = true, false
	// Stop needs the infra pid after a restart: record it now.
	if err := m.store.Put(recordKind, sb.ID, sb); err != nil {
		return fmt.Errorf("persist pod: %w", err)
	}
	return nil
}

// persistLater records the pod's IPs after RunPodSandbox returned; a pod
// removed in the meantime stays removed.
func (m *Manager) persistLater(sb *Sandbox) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !sb.removed {
		_ = m.store.Put(recordKind, sb.ID, sb)
	}
}

// CheckNetwork runs CNI CHECK for a ready pod's network: the plugins verify
// that what ADD set up is still in place. Pods without their own network
// have nothing to check.
func (m *Manager) CheckNetwork(ctx context.Context, sb *Sandbox) (checked bool, err error) {
	sb.mu.Lock()
	att, netns, ready := sb.Network, sb.Namespaces[NetNS], sb.Ready
	sb.mu.Unlock()
	if !ready || att == nil {
		return false, nil
	}
	return true, m.net.Check(ctx, m.cniPod(sb, netns), att)
}

// restoreIPs completes the record of a pod whose daemon died between
// recording it and recording its IPs: from libcni's cache if ADD finished,
// else the pod never got its network and is stopped.
func (m *Manager) restoreIPs(ctx context.Context, sb *Sandbox) {
	ips, ok, err := m.net.CachedIPs(m.cniPod(sb, sb.Namespaces[NetNS]), sb.Network)
	if !ok {
		logging.From(ctx).Warn("pod network setup did not finish; stopping the pod", "pod", sb.ID, "error", err)
		_ = m.stopLocked(ctx, sb)
		return
	}
	sb.IPs, sb.Network.IPs = ips, ips
	_ = m.store.Put(recordKind, sb.ID, sb)
}

func (m *Manager) checkCgroupParent(parent string) error {
	if parent == "" {
		return nil
	}
	if m.opts.CgroupManager == "systemd" {
		if !strings.HasSuffix(parent, ".slice") || strings.Contains(parent, "/") {
			return status.Errorf(codes.InvalidArgument, "config.linux.cgroup_parent %q: the systemd cgroup driver needs a slice name like kubepods-besteffort-pod<uid>.slice", parent)
		}
		return nil
	}
	if !strings.HasPrefix(parent, "/") || strings.Contains(parent, "..") {
		return status.Errorf(codes.InvalidArgument, "config.linux.cgroup_parent %q: the cgroupfs driver needs an absolute path", parent)
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
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return m.stopLocked(ctx, sb)
}

func (m *Manager) stopLocked(ctx context.Context, sb *Sandbox) error {
	if m.Hooks.StopAll != nil {
		if err := m.Hooks.StopAll(ctx, sb.ID); err != nil {
			return fmt.Errorf("stop containers of pod %s: %w", sb.ID, err)
		}
	}
	if (sb.InfraPID != 0 || sb.InfraPending) && m.Hooks.StopInfra != nil {
		if err := m.Hooks.StopInfra(ctx, sb); err != nil {
			return fmt.Errorf("stop pod infra process: %w", err)
		}
		sb.stateMu.Lock()
		sb.InfraPID, sb.InfraPending = 0, false
		sb.stateMu.Unlock()
	}
	if sb.Network != nil {
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
	}
	if err := Unpin(sb.Namespaces); err != nil {
		return fmt.Errorf("release pod namespaces: %w", err)
	}
	// Also whatever sits at the pod's own pin names but is no longer in
	// its record (a reboot or a lost namespace leaves a plain file there,
	// as CRI-O's "invalid netns" case): left, it would leak.
	if err := Unpin(pinsOf(m.opts.NamespacesDir, sb.ID)); err != nil {
		logging.From(ctx).Warn("remove stale pod namespace files", "pod", sb.ID, "error", err)
	}
	sb.stateMu.Lock()
	sb.Namespaces, sb.Ready = nil, false
	sb.stateMu.Unlock()
	return m.store.Put(recordKind, sb.ID, sb)
}

// Remove stops the pod if needed, removes its containers and all its state.
// Unknown ids succeed.
func (m *Manager) Remove(ctx context.Context, idOrPrefix string) error {
	sb, err := m.Get(idOrPrefix)
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return m.remove(ctx, sb)
}

func (m *Manager) remove(ctx context.Context, sb *Sandbox) error {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if err := m.stopLocked(ctx, sb); err != nil {
		return err
	}
	if m.Hooks.RemoveAll != nil {
		if err := m.Hooks.RemoveAll(ctx, sb.ID); err != nil {
			return fmt.Errorf("remove containers of pod %s: %w", sb.ID, err)
		}
	}
	if err := RemoveFiles(sb.Dir); err != nil {
		return fmt.Errorf("remove pod files: %w", err)
	}
	if err := m.store.Delete(recordKind, sb.ID); err != nil {
		return err
	}
	sb.removed = true
	m.index.Remove(sb.ID)
	m.release(reservationKey(sb.Metadata()), sb.ID)
	return nil
}

// Restore loads every pod record after a restart. Pods whose namespaces
// vanished (a reboot) are marked NOTREADY; their network is torn down so
// no IP stays allocated.
func (m *Manager) Restore(ctx context.Context) error {
	log := logging.From(ctx)
	return m.store.List(recordKind, func(id string, data []byte) error {
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
			} else if sb.Network != nil && len(sb.IPs) == 0 {
				m.restoreIPs(ctx, sb)
			}
		}
		m.index.Add(id, sb)
		_, _ = m.names.Reserve(reservationKey(sb.Metadata()), id)
		return nil
	})
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
