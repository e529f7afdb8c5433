package container

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/cleanup"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/spec"
	"github.com/crio-runtime/crio/internal/state"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// Create makes a container in a ready pod: rootfs from the image, the OCI
// spec, and a monitor that ran "<runtime> create". Each step pushes its
// undo onto a cleanup stack that runs if a later one fails, so a failed
// create leaves nothing behind. The steps are listed in steps().
func (m *Manager) Create(ctx context.Context, podID string, cfg *runtimeapi.ContainerConfig, podCfg *runtimeapi.PodSandboxConfig) (_ *Container, retErr error) {
	cr, err := m.newCreation(ctx, podID, cfg, podCfg)
	if err != nil {
		return nil, err
	}
	defer cr.undo.OnError(&retErr)
	stage := stageTimer(ctx)
	err = cleanup.RunSteps(ctx, cr.steps(), func(step string) error {
		if m.afterStep != nil {
			if err := m.afterStep(step); err != nil {
				return err
			}
		}
		if name := createStages[step]; name != "" {
			stage(name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cr.c.hidden.Store(true) // until Publish: the client has no id yet
	m.index.Add(cr.c.ID, cr.c)
	return cr.c, nil
}

// steps are Create's steps in order: each pushes the undo of what it made
// onto cr.undo. New work in a create goes into the step it belongs to, or
// a new step here (e.g. spec adjustments after "make spec").
func (cr *creation) steps() []cleanup.Step {
	return []cleanup.Step{
		{Name: "reserve name", Run: cr.reserveName},
		{Name: "new record", Run: cr.newRecord},
		{Name: "launch monitor", Run: cr.launchMonitor},
		{Name: "make rootfs", Run: cr.makeRootfs},
		{Name: "mount image volumes", Run: cr.mountImageVolumes},
		{Name: "make spec", Run: cr.makeSpec},
		{Name: "prepare host", Run: cr.prepareHost},
		{Name: "write bundle", Run: cr.writeBundle},
		{Name: "runtime create", Run: cr.runtimeCreate},
		{Name: "recheck target", Run: cr.recheckTarget},
		{Name: "record processes", Run: cr.recordProcesses},
	}
}

// createStages name the stages the benchmark breaks a create into: each
// is the time up to the end of its step since the last one.
var createStages = map[string]string{
	"launch monitor": "prepare",
	"make rootfs":    "rootfs",
	"make spec":      "spec",
	"write bundle":   "bundle",
	"runtime create": "runtime_create",
}

// creation is one Create on its way: what its steps found and made.
type creation struct {
	m        *Manager
	undo     cleanup.Stack
	cfg      *runtimeapi.ContainerConfig
	podCfg   *runtimeapi.PodSandboxConfig
	sb       *sandbox.Sandbox
	rt       ociRuntime
	img      *image.ContainerImage
	targetNS string // a TARGET PID namespace, if the container joins one

	id, nameKey string
	spare       spare // the spare layer taken, if fromSpare
	fromSpare   bool
	c           *Container
	mon         launchedMonitor
	monSent     bool // mon got its config (else the undo aborts it)
	rootfs      string
	imageMounts map[string]string // volume image reference -> mount point
	spec        *spec.Result
	started     monitor.StartResult
}

// newCreation checks the request against its pod and resolves the runtime
// and the image; it makes nothing, so it needs no undo.
func (m *Manager) newCreation(ctx context.Context, podID string, cfg *runtimeapi.ContainerConfig, podCfg *runtimeapi.PodSandboxConfig) (*creation, error) {
	sb, err := m.pods.Get(podID)
	if err != nil {
		return nil, err
	}
	if !sb.IsReady() {
		return nil, errdefs.FailedPrecondition("pod sandbox %s is not ready", sb.ID)
	}
	if !sb.InfraRunning() {
		return nil, errdefs.FailedPrecondition("pod sandbox %s is not ready: its infra process %d exited", sb.ID, sb.InfraPID)
	}
	if err := checkInPod(sb, cfg); err != nil {
		return nil, err
	}
	cr := &creation{m: m, cfg: cfg, podCfg: podCfg, sb: sb}
	if cr.podCfg == nil {
		cr.podCfg = sb.Config.PodSandboxConfig
	}
	if cr.targetNS, err = m.targetPIDNamespace(sb, cfg); err != nil {
		return nil, err
	}
	if cr.rt, err = m.runtimeFor(sb.RuntimeHandler); err != nil {
		return nil, err
	}
	if cr.img, err = m.layers.ForContainer(ctx, cfg.GetImage().GetImage()); err != nil {
		return nil, err
	}
	// The kubelet asks by image ID and names the pod spec's image apart.
	user := cfg.GetImage().GetUserSpecifiedImage()
	if user == "" {
		user = cfg.GetImage().GetImage()
	}
	cr.img.Prefer(user)
	return cr, nil
}

// reserveName picks the id (a ready spare layer of the image gives the
// container its id and rootfs) and reserves the name for it.
func (cr *creation) reserveName(context.Context) error {
	m := cr.m
	cr.id = state.NewID()
	if m.spares != nil && cr.sb.Userns() == nil { // spares are not shifted
		if cr.spare, cr.fromSpare = m.spares.take(cr.img.ID); cr.fromSpare {
			cr.id = cr.spare.id
		}
	}
	cr.nameKey = nameKey(cr.cfg.Metadata.Name, cr.sb.ID, cr.cfg.Metadata.Attempt)
	if err := m.reserve(cr.nameKey, cr.id); err != nil {
		if cr.fromSpare {
			m.spares.giveBack(cr.img.ID, cr.spare)
		}
		return err
	}
	cr.undo.Push(func() { m.release(cr.nameKey, cr.id) })
	if cr.fromSpare {
		cr.undo.Push(func() { m.deleteRootfs(cr.id) })
	}
	return nil
}

// newRecord fills in the record (not yet persisted or indexed).
func (cr *creation) newRecord(context.Context) error {
	m, id := cr.m, cr.id
	cr.c = &Container{Record: Record{
		ID: id, PodID: cr.sb.ID, Config: &Config{cr.cfg}, Handler: cr.sb.RuntimeHandler, CreatedAt: time.Now().UnixNano(),
		ImageID: cr.img.ID, ImageRef: cr.img.Ref, ImageName: cr.img.Name,
		Bundle: filepath.Join(m.opts.RunDir, id), AttachDir: filepath.Join(m.opts.AttachSocketDir, id),
	}, exitCh: make(chan struct{})}
	var err error
	cr.c.LogPath, err = logPath(cr.podCfg.GetLogDirectory(), m.opts.DefaultLogDir, cr.sb.ID, cr.cfg.GetLogPath())
	return err
}

// launchMonitor starts the monitor now; it waits for its config, so its
// start-up overlaps the layer, spec and bundle work of the next steps.
func (cr *creation) launchMonitor(context.Context) error {
	mon, err := cr.rt.Launch()
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	cr.mon = mon
	cr.undo.Push(func() {
		if !cr.monSent {
			mon.Abort()
		}
	})
	return nil
}

// makeRootfs creates the writable layer, unless a spare gave one.
func (cr *creation) makeRootfs(context.Context) error {
	if cr.fromSpare {
		cr.rootfs = cr.spare.rootfs
		return nil
	}
	rootfs, err := cr.m.createRootfs(cr.id, cr.img, cr.sb.Userns())
	if err != nil {
		return err
	}
	cr.rootfs = rootfs
	cr.undo.Push(func() { cr.m.deleteRootfs(cr.id) })
	return cr.m.exposeRootfs(rootfs, cr.sb.Userns())
}

// mountImageVolumes mounts the images of CRI image volumes.
func (cr *creation) mountImageVolumes(ctx context.Context) error {
	mounts, err := cr.m.mountImages(ctx, cr.c, cr.cfg.GetMounts())
	cr.undo.Push(func() { cr.m.unmountImages(cr.c) }) // also those of a partial failure
	if err != nil {
		return err
	}
	cr.imageMounts = mounts
	// The bundle may be created by buildSpec (node files), so undo it from here.
	cr.undo.Push(func() { _ = os.RemoveAll(cr.c.Bundle); _ = os.RemoveAll(cr.c.AttachDir) })
	return nil
}

// makeSpec builds the OCI spec and records what the record keeps of it.
func (cr *creation) makeSpec(ctx context.Context) error {
	m, c := cr.m, cr.c
	res, err := m.buildSpec(c, cr.sb, cr.podCfg, cr.img, cr.rootfs, cr.imageMounts, cr.targetNS)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		logging.From(ctx).Warn("container spec", "container", c.ID, "warning", w)
	}
	if err := m.adjustSpec(ctx, cr.sb, c, res.Spec, cr.undo.Push); err != nil {
		return err
	}
	m.logHostWarnings(logging.From(ctx), res.HostWarnings)
	cr.spec = res
	c.spec, c.StopSignal, c.Resources = res.Spec, res.StopSignal, res.Spec.Linux.Resources
	if u := res.User.GetLinux(); u != nil {
		c.User = &UserRecord{UID: u.Uid, GID: u.Gid, SupplementalGroups: u.SupplementalGroups}
	}
	return nil
}

// prepareHost makes the host side ready for the spec: volume dirs, mount
// propagation, the bundle and attach dirs, users and files in the rootfs.
func (cr *creation) prepareHost(context.Context) error {
	c, res := cr.c, cr.spec
	if err := prepareHost(res, cr.rootfs, cr.sb.Userns()); err != nil {
		return err
	}
	for _, d := range []string{c.Bundle, c.AttachDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := addUserEntries(cr.rootfs, c.Bundle, res.Spec, cr.cfg.GetLinux().GetSecurityContext().GetRunAsUsername()); err != nil {
		return err
	}
	return prepareRootfs(c.Bundle, cr.rootfs, res.Spec)
}

// writeBundle writes config.json and makes the log dir.
func (cr *creation) writeBundle(context.Context) error {
	c := cr.c
	data, err := json.Marshal(cr.spec.Spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Bundle, "config.json"), data, 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.LogPath), 0o755); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	return nil
}

// runtimeCreate hands the container to the monitor, which runs the
// runtime's create. The record is written meanwhile: it lacks only the
// pids, which Restore recovers, so a crash in between leaves a record to
// clean up rather than an unknown container.
func (cr *creation) runtimeCreate(ctx context.Context) error {
	m, c, id := cr.m, cr.c, cr.id
	mcfg := m.monitorConfig(c)
	if m.cfg().MonitorInPodCgroup(cr.sb.RuntimeHandler) { // else monitor_cgroup keeps it in the daemon's
		mcfg.CgroupProcs = monitorCgroups(cr.sb.CgroupParent, m.cfg().Crio.Runtime.CgroupManager, m.opts.CgroupV2)
	}
	mcfg.CreateTimeout = m.createTimeout(cr.sb.RuntimeHandler)
	cr.monSent = true
	persisted := m.updateAsync(c, nil)
	started, err := cr.rt.CreateWith(ctx, cr.mon, mcfg)
	perr := persisted()
	cr.undo.Push(func() { _ = m.deleteRecord(c) })
	if err != nil {
		_ = cr.rt.Delete(context.WithoutCancel(ctx), id)
		return fmt.Errorf("create container: %w", err)
	}
	cr.undo.Push(func() {
		_ = cr.rt.Delete(context.WithoutCancel(ctx), id)
		_ = os.Remove(filepath.Join(m.opts.ExitsDir, id))
	})
	cr.started = started
	return perr
}

// recheckTarget: the runtime has joined a TARGET PID namespace by now, so
// the target must still be the process whose pid named it.
func (cr *creation) recheckTarget(context.Context) error {
	if cr.targetNS == "" {
		return nil
	}
	_, err := cr.m.targetPIDNamespace(cr.sb, cr.cfg)
	return err
}

// recordProcesses keeps the pids and start times that name the container's
// process and its monitor.
func (cr *creation) recordProcesses(context.Context) error {
	c, started := cr.c, cr.started
	var err error
	c.Pid, c.MonitorPid = started.PID, started.MonitorPID
	if c.PidStart, err = proc.StartTime(started.PID); err != nil {
		c.PidStart = math.MaxUint64 // gone already: never a TARGET
	}
	// The monitor just reported, so it is alive: its start time now names
	// it. If it is already gone, no start time matches: it counts as dead.
	if c.MonitorStart, err = proc.StartTime(started.MonitorPID); err != nil {
		c.MonitorStart = math.MaxUint64
	}
	return nil
}

// logPath joins the pod's log directory and the container's relative path;
// the result may not leave the directory.
func logPath(podDir, defaultDir, podID, rel string) (string, error) {
	if rel == "" {
		return "", nil
	}
	dir := podDir
	if dir == "" {
		dir = filepath.Join(defaultDir, podID)
	}
	if filepath.IsAbs(rel) {
		return "", errdefs.Invalid("config.log_path", "%q must be relative to the pod's log_directory", rel)
	}
	p := filepath.Join(dir, rel)
	if !strings.HasPrefix(p, filepath.Clean(dir)+"/") {
		return "", errdefs.Invalid("config.log_path", "%q escapes the pod's log_directory", rel)
	}
	return p, nil
}

func (m *Manager) createRootfs(id string, img *image.ContainerImage, u *sandbox.Userns) (string, error) {
	mp, err := m.layers.CreateLayer(id, img.ID, u)
	if err != nil {
		return "", fmt.Errorf("container rootfs: %w", err)
	}
	return mp, nil
}

func (m *Manager) deleteRootfs(id string) error { return m.layers.DeleteLayer(id) }

// imageFile opens a file of the image rootfs without following symlinks out of it.
func imageFile(rootfs, name string) *os.File {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	return f
}

func (m *Manager) monitorConfig(c *Container) *monitor.Config {
	cfg := c.Config
	return &monitor.Config{
		ID:            c.ID,
		Bundle:        c.Bundle,
		LogPath:       c.LogPath,
		LogSizeMax:    max(0, m.cfg().Crio.Runtime.LogSizeMax), // -1 (unlimited) is 0 to the monitor
		ExitDir:       m.opts.ExitsDir,
		AttachSocket:  filepath.Join(c.AttachDir, "attach"),
		ControlSocket: filepath.Join(c.AttachDir, "ctl"),
		PidFile:       filepath.Join(c.Bundle, "pid"),
		MonitorLog:    filepath.Join(c.Bundle, "monitor.log"),
		Terminal:      cfg.Tty,
		Stdin:         cfg.Stdin,
		StdinOnce:     cfg.StdinOnce,
	}
}

// mountImages mounts the images of CRI image volumes read-only and returns
// reference -> mount point for the spec.
func (m *Manager) mountImages(ctx context.Context, c *Container, mounts []*runtimeapi.Mount) (map[string]string, error) {
	out := map[string]string{}
	for i, mnt := range mounts {
		ref := mnt.GetImage().GetImage()
		if ref == "" || out[ref] != "" {
			continue
		}
		img, err := m.layers.ForContainer(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("mounts[%d].image: %w", i, err)
		}
		mp, err := m.layers.MountImage(img.ID)
		if err != nil {
			return nil, fmt.Errorf("mount image %s: %w", ref, err)
		}
		c.ImageMounts = append(c.ImageMounts, img.ID)
		if c.ImageMountRefs == nil {
			c.ImageMountRefs = map[string]string{}
		}
		c.ImageMountRefs[ref] = img.ID
		out[ref] = mp
	}
	return out, nil
}

// unmountImages unmounts c's image volumes. The record is cleared under
// its lock: a removed container's reap runs while NRI or status may still
// read it.
func (m *Manager) unmountImages(c *Container) {
	c.mu.Lock()
	ids := c.ImageMounts
	c.ImageMounts = nil
	c.mu.Unlock()
	for _, id := range ids {
		m.layers.UnmountImage(id)
	}
}

// stageTimer logs how long each step of a create or start took, at debug
// level, so the benchmark can break the latency down.
func stageTimer(ctx context.Context) func(string) {
	last := time.Now()
	log := logging.From(ctx)
	return func(stage string) {
		now := time.Now()
		log.Debug("container stage done", "stage", stage, "duration", now.Sub(last))
		last = now
	}
}
