package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cleanup"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/fault"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/state"
)

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

// Run creates a pod. Every step pushes its undo onto a cleanup stack that
// runs if a later step fails, so a failed run leaves nothing behind.
func (m *Manager) Run(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string, ro RunOptions, stages func(stage string, d time.Duration)) (_ *Sandbox, retErr error) {
	r, err := m.newRun(ctx, cfg, handler, ro, stages)
	if err != nil {
		return nil, err
	}
	defer r.undo.OnError(&retErr)
	if err := cleanup.RunSteps(ctx, r.steps(), m.afterStep); err != nil {
		return nil, err
	}
	sb := r.sb
	if len(sb.IPs) > 0 { // the record was written before ADD finished
		go m.persistLater(sb)
	}
	sb.hidden.Store(true) // until Publish: the client has no id yet
	m.index.Add(sb.ID, sb)
	return sb, nil
}

// steps are Run's steps in order: each pushes the undo of what it made
// onto r.undo. New work in a pod's creation goes into the step it belongs
// to, or a new step here.
func (r *podRun) steps() []cleanup.Step {
	return []cleanup.Step{
		{Name: "reserve name", Run: r.reserveName},
		{Name: "pin namespaces", Run: r.pinNamespaces},
		// The infra needs only the pinned namespaces: the runtime creates
		// it while ADD runs and the pod's files and record are written. It
		// starts first, as its create takes longest (about twice ADD).
		{Name: "start infra", Run: r.startInfra},
		{Name: "start network", Run: r.startNetwork}, // CNI ADD runs while the next steps do
		{Name: "stats cgroup", Run: r.makeStatsCgroup},
		{Name: "write files", Run: r.writeFiles},
		{Name: "write record", Run: r.writeRecord},
		{Name: "finish infra", Run: r.finishInfra}, // its record may so precede the IPs, as for other pods
		{Name: "finish network", Run: r.finishNetwork},
	}
}

// podRun is one Run on its way: what its steps found and made.
type podRun struct {
	m         *Manager
	undo      cleanup.Stack
	cfg       *runtimeapi.PodSandboxConfig
	ro        RunOptions
	stages    func(stage string, d time.Duration)
	sysctls   map[string]string
	sharedPID bool    // the containers share one PID namespace: an infra process runs
	userns    *Userns // the pod's own user namespace, if it asked for one
	key       string
	sb        *Sandbox
	// added waits for the CNI ADD started by startNetwork.
	added func() error
	// infra waits for the infra process started by startInfra.
	infra     func() infraResult
	infraFrom time.Time
}

// infraResult is what StartInfra returned.
type infraResult struct {
	pid   int
	start uint64
	err   error
}

// newRun prepares the run of a validated request (server checks its
// fields); it makes nothing, so it needs no undo.
func (m *Manager) newRun(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string, ro RunOptions, stages func(string, time.Duration)) (*podRun, error) {
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
	id := state.NewID()
	nodeName, _ := os.Hostname()
	sb := &Sandbox{
		ID: id, Config: &PodConfig{cfg}, CreatedAt: time.Now().UnixNano(), RuntimeHandler: handler,
		HandlerDefaulted: ro.HandlerDefaulted,
		Hostname:         Hostname(cfg, nodeName), Dir: filepath.Join(m.opts.RunDir, id),
		CgroupParent: cfg.GetLinux().GetCgroupParent(),
	}
	return &podRun{
		m: m, cfg: cfg, ro: ro, stages: stages, sysctls: sysctls, sb: sb, userns: userns,
		sharedPID: nso.GetPid() == runtimeapi.NamespaceMode_POD, key: reservationKey(cfg.Metadata),
		added: func() error { return nil },
	}, nil
}

func (r *podRun) nsOptions() *runtimeapi.NamespaceOption {
	return r.cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
}

// reserveName reserves the pod's name for its id.
func (r *podRun) reserveName(context.Context) error {
	if err := r.m.reserve(r.key, r.sb.ID); err != nil {
		return err
	}
	r.undo.Push(func() { r.m.release(r.key, r.sb.ID) })
	return nil
}

// pinNamespaces creates the pod's net, uts and ipc namespaces (those not
// shared with the host), with its hostname and sysctls.
func (r *podRun) pinNamespaces(context.Context) error {
	start := time.Now()
	var kinds []NS
	nso := r.nsOptions()
	if nso.GetNetwork() != runtimeapi.NamespaceMode_NODE {
		kinds = append(kinds, NetNS, UTSNS) // host network means the node's hostname too
	}
	if nso.GetIpc() != runtimeapi.NamespaceMode_NODE {
		kinds = append(kinds, IPCNS)
	}
	sb := r.sb
	var err error
	sb.Namespaces, err = Pin(PinRequest{Dir: r.m.opts.NamespacesDir, Name: sb.ID, Kinds: kinds, Hostname: sb.Hostname, Sysctls: r.sysctls, Userns: r.userns})
	if err != nil {
		return fmt.Errorf("create pod namespaces: %w", err)
	}
	r.undo.Push(func() { _ = Unpin(sb.Namespaces) })
	r.stages("namespaces", time.Since(start))
	return nil
}

// startNetwork starts the plugins' ADD, the longest step, in the
// background: it runs while the pod's files and record are written.
func (r *podRun) startNetwork(ctx context.Context) error {
	netns, ok := r.sb.Namespaces[NetNS]
	if !ok {
		return nil
	}
	m := r.m
	pod := m.cniPod(r.sb, netns)
	att, err := m.net.Plan(pod)
	if err != nil {
		return fmt.Errorf("set up pod network: %w", err)
	}
	r.sb.Network = att
	start := time.Now()
	type result struct {
		ips []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		ips, err := m.net.Add(ctx, pod, att)
		done <- result{ips, err}
	}()
	r.added = sync.OnceValue(func() error {
		res := <-done
		r.stages("cni_add", time.Since(start))
		if res.err == nil {
			att.IPs = res.ips
		}
		return res.err
	})
	r.undo.Push(func() {
		if r.added() == nil {
			_ = m.net.Teardown(context.WithoutCancel(ctx), pod, att)
		}
	})
	return nil
}

// writeFiles writes the pod's hostname, hosts, resolv.conf and /dev/shm.
func (r *podRun) writeFiles(context.Context) error {
	sb := r.sb
	if err := os.MkdirAll(sb.Dir, 0o755); err != nil {
		return fmt.Errorf("pod dir: %w", err)
	}
	r.undo.Push(func() { _ = RemoveFiles(sb.Dir) })
	shm := r.m.opts.ShmSize
	if r.ro.ShmSize > 0 {
		shm = r.ro.ShmSize
	}
	var err error
	sb.Files, err = WriteFiles(sb.Dir, r.cfg, sb.Hostname, r.nsOptions().GetIpc() == runtimeapi.NamespaceMode_NODE, shm)
	return err
}

// writeRecord records the pod before ADD finishes, with what DEL needs;
// the IPs follow (and Restore reads them from the CNI cache if the daemon
// died first). A pod sharing one PID namespace is ready only once its
// infra runs; until then its record says so, and Restore undoes it.
func (r *podRun) writeRecord(context.Context) error {
	sb := r.sb
	err := r.m.update(sb, func(sb *Sandbox) {
		sb.Ready, sb.InfraPending = !r.sharedPID, r.sharedPID
	})
	if err != nil {
		return err
	}
	r.undo.Push(func() { _ = r.m.store.Delete(recordKind, sb.ID) })
	if r.sharedPID {
		fault.Point("after-pod-record")
	}
	return nil
}

// finishNetwork waits for ADD and writes the pod's IPs into its hosts file.
func (r *podRun) finishNetwork(context.Context) error {
	if err := r.added(); err != nil {
		return fmt.Errorf("set up pod network: %w", err)
	}
	sb := r.sb
	if sb.Network == nil {
		return nil
	}
	sb.IPs = sb.Network.IPs
	return WriteHosts(sb.Files.Hosts, sb.Hostname, sb.IPs)
}

// startInfra starts the infra process of a pod whose containers share one
// PID namespace in the background. A daemon killed before the pod's record
// is written leaves a runtime container that no record owns, which the
// start-time sweep deletes.
func (r *podRun) startInfra(ctx context.Context) error {
	if !r.sharedPID {
		return nil
	}
	m, sb := r.m, r.sb
	if m.containers == nil {
		return errdefs.Unimplemented("pods sharing one PID namespace need the container runtime")
	}
	r.infraFrom = time.Now()
	done := make(chan infraResult, 1)
	go func() {
		pid, start, err := m.containers.StartInfra(ctx, sb)
		done <- infraResult{pid, start, err}
	}()
	r.infra = sync.OnceValue(func() infraResult { return <-done })
	r.undo.Push(func() {
		r.infra() // the undo must not race the runtime's create
		if m.containers.StopInfra(context.WithoutCancel(ctx), sb) == nil {
			m.containers.ReapInfra(ctx, sb)
		}
	})
	return nil
}

// finishInfra waits for the infra process, pins its PID namespace (the one
// containers join) and records the pod ready.
func (r *podRun) finishInfra(context.Context) error {
	if r.infra == nil {
		return nil
	}
	m, sb := r.m, r.sb
	res := r.infra()
	if res.err != nil {
		return res.err
	}
	fault.Point("after-infra-create")
	pinned, err := PinPID(m.opts.NamespacesDir, sb.ID, res.pid, res.start)
	if err != nil {
		return fmt.Errorf("pod infra process: %w", err)
	}
	r.undo.Push(func() { _ = Unpin(map[NS]string{PIDNS: pinned}) })
	// Stop needs the infra pid after a restart: record it now.
	err = m.update(sb, func(sb *Sandbox) {
		if sb.Namespaces == nil {
			sb.Namespaces = map[NS]string{}
		}
		sb.Namespaces[PIDNS] = pinned
		sb.InfraPID, sb.InfraStart = res.pid, res.start
		sb.Ready, sb.InfraPending = true, false
	})
	if err != nil {
		return err
	}
	r.stages("infra", time.Since(r.infraFrom))
	return nil
}
