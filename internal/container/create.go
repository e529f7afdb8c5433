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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// Create makes a container in a ready pod: rootfs from the image, the OCI
// spec, and a monitor that ran "<runtime> create". Each step's undo runs if
// a later one fails, so a failed create leaves nothing behind.
func (m *Manager) Create(ctx context.Context, podID string, cfg *runtimeapi.ContainerConfig, podCfg *runtimeapi.PodSandboxConfig) (_ *Container, retErr error) {
	stage := stageTimer(ctx)
	if err := validateCreate(podID, cfg); err != nil {
		return nil, err
	}
	sb, err := m.pods.Get(podID)
	if err != nil {
		return nil, err
	}
	if !sb.IsReady() {
		return nil, status.Errorf(codes.FailedPrecondition, "pod sandbox %s is not ready", sb.ID)
	}
	if !sb.InfraRunning() {
		return nil, status.Errorf(codes.FailedPrecondition, "pod sandbox %s is not ready: its infra process %d exited", sb.ID, sb.InfraPID)
	}
	if err := checkInPod(sb, cfg); err != nil {
		return nil, err
	}
	targetNS, err := m.targetPIDNamespace(sb, cfg)
	if err != nil {
		return nil, err
	}
	rt, err := m.Runtime(sb.RuntimeHandler)
	if err != nil {
		return nil, err
	}
	img, err := m.images.ForContainer(ctx, cfg.GetImage().GetImage())
	if err != nil {
		return nil, err
	}
	if podCfg == nil {
		podCfg = sb.Config.PodSandboxConfig
	}
	// A spare layer of the image, if one is ready, gives the container
	// its id and rootfs.
	id, sp, fromSpare := newID(), spare{}, false
	if m.spares != nil {
		if sp, fromSpare = m.spares.take(img.ID); fromSpare {
			id = sp.id
		}
	}
	key := nameKey(cfg.Metadata.Name, sb.ID, cfg.Metadata.Attempt)
	if err := m.reserve(key, id); err != nil {
		if fromSpare {
			m.spares.giveBack(img.ID, sp)
		}
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
	if fromSpare {
		undo = append(undo, func() { m.deleteRootfs(id) })
	}

	c := &Container{
		ID: id, PodID: sb.ID, Config: &Config{cfg}, Handler: sb.RuntimeHandler, CreatedAt: time.Now().UnixNano(),
		ImageID: img.ID, ImageRef: img.Ref, ImageName: img.Name,
		Bundle: filepath.Join(m.opts.RunDir, id), AttachDir: filepath.Join(m.opts.AttachSocketDir, id),
		exitCh: make(chan struct{}),
	}
	if c.LogPath, err = logPath(podCfg.GetLogDirectory(), m.opts.DefaultLogDir, sb.ID, cfg.GetLogPath()); err != nil {
		return nil, err
	}
	stage("prepare")
	// The monitor starts now and waits for its config, so its start-up
	// overlaps the layer, spec and bundle work below.
	mon, err := rt.Launch()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "start monitor: %v", err)
	}
	monSent := false
	defer func() {
		if !monSent {
			mon.Abort()
		}
	}()
	rootfs := sp.rootfs
	if !fromSpare {
		if rootfs, err = m.createRootfs(id, img); err != nil {
			return nil, err
		}
		undo = append(undo, func() { m.deleteRootfs(id) })
	}
	stage("rootfs")

	imageMounts, err := m.mountImages(ctx, c, cfg.GetMounts())
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { m.unmountImages(c) })
	// The bundle may be created by buildSpec (node files), so undo it from here.
	undo = append(undo, func() { _ = os.RemoveAll(c.Bundle); _ = os.RemoveAll(c.AttachDir) })
	res, err := m.buildSpec(c, sb, podCfg, img, rootfs, imageMounts, targetNS)
	stage("spec")
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		logging.From(ctx).Warn("container spec", "container", id, "warning", w)
	}
	if err := m.adjustSpec(ctx, sb, c, res.Spec, &undo); err != nil {
		return nil, err
	}
	m.logHostWarnings(logging.From(ctx), res.HostWarnings)
	c.spec, c.StopSignal, c.Resources = res.Spec, res.StopSignal, res.Spec.Linux.Resources
	if u := res.User.GetLinux(); u != nil {
		c.User = &UserRecord{UID: u.Uid, GID: u.Gid, SupplementalGroups: u.SupplementalGroups}
	}
	if err := prepareHost(res, rootfs); err != nil {
		return nil, err
	}
	for _, d := range []string{c.Bundle, c.AttachDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := addUserEntries(rootfs, c.Bundle, res.Spec, cfg.GetLinux().GetSecurityContext().GetRunAsUsername()); err != nil {
		return nil, err
	}
	if err := prepareRootfs(c.Bundle, rootfs, res.Spec); err != nil {
		return nil, err
	}
	data, err := json.Marshal(res.Spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.Bundle, "config.json"), data, 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(c.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	mcfg := m.monitorConfig(c)
	if m.cfg().MonitorInPodCgroup(sb.RuntimeHandler) { // else monitor_cgroup keeps it in the daemon's
		mcfg.CgroupProcs = monitorCgroups(sb.CgroupParent, m.cfg().Crio.Runtime.CgroupManager, m.opts.CgroupV2)
	}
	if h := m.cfg().Crio.Runtime.Runtimes[sb.RuntimeHandler]; h != nil && h.ContainerCreateTimeout > 0 {
		mcfg.CreateTimeout = time.Duration(max(h.ContainerCreateTimeout, 30)) * time.Second
	}
	stage("bundle")
	monSent = true
	// The record is written while the runtime creates the container: it
	// lacks only the pids, which Restore recovers. A crash in between then
	// leaves a record to clean up rather than an unknown container.
	persisted := m.persistAsync(c)
	started, err := rt.CreateWith(ctx, mon, mcfg)
	perr := persisted()
	undo = append(undo, func() { _ = m.store.Delete(recordKind, id) })
	stage("runtime_create")
	if err != nil {
		_ = rt.Delete(context.WithoutCancel(ctx), id)
		return nil, status.Errorf(codes.Unknown, "create container: %v", err)
	}
	undo = append(undo, func() {
		_ = rt.Delete(context.WithoutCancel(ctx), id)
		_ = os.Remove(filepath.Join(m.opts.ExitsDir, id))
	})
	if perr != nil {
		return nil, perr
	}
	if targetNS != "" {
		// The runtime has joined the target's namespace by now: the target
		// must still be the process whose pid named it.
		if _, err := m.targetPIDNamespace(sb, cfg); err != nil {
			return nil, err
		}
	}
	c.Pid, c.MonitorPid = started.PID, started.MonitorPID
	if c.PidStart, err = proc.StartTime(started.PID); err != nil {
		c.PidStart = math.MaxUint64 // gone already: never a TARGET
	}
	// The monitor just reported, so it is alive: its start time now names
	// it. If it is already gone, no start time matches: it counts as dead.
	if c.MonitorStart, err = proc.StartTime(started.MonitorPID); err != nil {
		c.MonitorStart = math.MaxUint64
	}
	c.hidden.Store(true) // until Publish: the client has no id yet
	m.index.Add(id, c)
	return c, nil
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
		return "", status.Errorf(codes.InvalidArgument, "config.log_path %q must be relative to the pod's log_directory", rel)
	}
	p := filepath.Join(dir, rel)
	if !strings.HasPrefix(p, filepath.Clean(dir)+"/") {
		return "", status.Errorf(codes.InvalidArgument, "config.log_path %q escapes the pod's log_directory", rel)
	}
	return p, nil
}

func (m *Manager) createRootfs(id string, img *image.ContainerImage) (string, error) {
	mp, err := makeLayer(m.storage(), id, img.ID, "")
	if err != nil {
		return "", status.Errorf(codes.Internal, "container rootfs: %v", err)
	}
	return mp, nil
}

func (m *Manager) deleteRootfs(id string) { dropLayer(m.storage(), id) }

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
		img, err := m.images.ForContainer(ctx, ref)
		if err != nil {
			return nil, status.Errorf(status.Code(err), "mounts[%d].image: %v", i, err)
		}
		mp, err := m.storage().MountImage(img.ID, []string{"ro"}, "")
		if err != nil {
			return nil, status.Errorf(codes.Internal, "mount image %s: %v", ref, err)
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

func (m *Manager) unmountImages(c *Container) {
	for _, id := range c.ImageMounts {
		_, _ = m.storage().UnmountImage(id, false)
	}
	c.ImageMounts = nil
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
