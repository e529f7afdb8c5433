package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/fault"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/spec"
)

// infraRootfs is the infra process's root and command: a rootfs from
// pause_image (pulled if missing, run with pause_command) when it is set,
// else the built-in pause binary's. A pause_image rootfs is shifted into the
// pod's user namespace, if it has one, as a container's is.
func (m *Manager) infraRootfs(ctx context.Context, podID string, userns *sandbox.Userns) (string, string, error) {
	img := m.cfg().Crio.Image
	if img.PauseImage == "" {
		rootfs, err := m.pauseRootfs()
		if err != nil {
			return "", "", errdefs.FailedPrecondition("pod shares one PID namespace but %w", err)
		}
		return rootfs, "/pause", nil
	}
	ci, err := m.images.ForContainer(ctx, img.PauseImage)
	if errors.Is(err, errdefs.ErrNotFound) {
		if _, err = m.images.Pull(ctx, img.PauseImage, nil, nil); err == nil {
			ci, err = m.images.ForContainer(ctx, img.PauseImage)
		}
	}
	if err != nil {
		return "", "", errdefs.Wrapf(err, "pause_image %s", img.PauseImage)
	}
	rootfs, err := m.createRootfs(podID, ci, userns)
	if err != nil {
		return "", "", err
	}
	command := img.PauseCommand
	if command == "" && len(ci.Config.Entrypoint) > 0 {
		command = ci.Config.Entrypoint[0]
	}
	return rootfs, command, nil
}

// pauseRootfs returns a read-only rootfs holding only the pause binary,
// prepared once from the pause binary beside crio (or in $PATH).
func (m *Manager) pauseRootfs() (string, error) {
	m.pauseOnce.Do(func() {
		m.pauseDir, m.pauseErr = preparePause(filepath.Join(realPath(m.opts.RunDir), ".pause-rootfs"))
	})
	return m.pauseDir, m.pauseErr
}

func preparePause(dir string) (string, error) {
	src, err := findPause()
	if err != nil {
		return "", err
	}
	// The mount points too: a runtime in a pod's user namespace may not
	// create them in this root-owned directory.
	for _, d := range []string{"proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".pause-")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, "pause"))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("prepare pause rootfs: %w", err)
	}
	return dir, nil
}

func findPause() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "pause")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath("pause")
	if err != nil {
		return "", fmt.Errorf("the pause binary is not beside crio or in $PATH")
	}
	return p, nil
}

// StartInfra runs the pod's infra process, which owns the PID namespace its
// containers share, as a runtime container whose id is the pod's. It runs
// without a monitor: it has no output, attach or exit code anyone reads,
// and the daemon holds it by pidfd (Sandbox.InfraRunning, StopInfra), so a
// monitor's two process starts (about 35 ms of CPU) would buy nothing. It
// returns the process's pid and start time, read while the process waits
// in the runtime's create, so the pair names the infra process and no
// later one.
func (m *Manager) StartInfra(ctx context.Context, sb *sandbox.Sandbox) (_ int, _ uint64, retErr error) {
	rootfs, command, err := m.infraRootfs(ctx, sb.ID, sb.Userns())
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if retErr != nil {
			m.deleteRootfs(sb.ID) // a pause_image rootfs; harmless otherwise
		}
	}()
	if err := m.exposeRootfs(rootfs, sb.Userns()); err != nil {
		return 0, 0, err
	}
	rt, err := m.Runtime(sb.RuntimeHandler)
	if err != nil {
		return 0, 0, err
	}
	cgPath, err := spec.CgroupsPath(m.cfg().Crio.Runtime.CgroupManager, sb.CgroupParent, sb.ID)
	if err != nil {
		return 0, 0, err
	}
	if cgPath, err = m.hostCgroupsPath(cgPath); err != nil {
		return 0, 0, err
	}
	bundle := filepath.Join(m.opts.RunDir, sb.ID)
	defer func() {
		if retErr != nil {
			_ = rt.Delete(context.WithoutCancel(ctx), sb.ID)
			_ = os.RemoveAll(bundle)
		}
	}()
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		return 0, 0, err
	}
	// The allowlist covers our pause and runc's last steps before its exec
	// (runc 1.1 and 1.5 checked); another runtime's may differ, and a call
	// it misses would fail every shared-PID pod, so those keep no filter.
	known := m.cfg().Crio.Image.PauseImage == "" && filepath.Base(rt.Path) == "runc"
	sp, err := infraSpec(rootfs, command, cgPath, known, sb)
	if err != nil {
		return 0, 0, err
	}
	data, err := json.Marshal(sp)
	if err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return 0, 0, err
	}
	pid, err := rt.CreateUnmonitored(ctx, sb.ID, bundle, m.createTimeout(sb.RuntimeHandler))
	if err != nil {
		return 0, 0, errdefs.New(errdefs.ErrUnknown, "create pod infra process: %w", err)
	}
	// This pod's first container gets its monitor launched ahead.
	go rt.Prelaunch()
	startTime, err := proc.StartTime(pid)
	if err != nil {
		return 0, 0, errdefs.New(errdefs.ErrUnknown, "pod infra process: %w", err)
	}
	if err := rt.Start(ctx, sb.ID, pid); err != nil {
		return 0, 0, errdefs.New(errdefs.ErrUnknown, "start pod infra process: %w", err)
	}
	return pid, startTime, nil
}

// StopInfra kills the infra process. Once it is gone, the runtime's delete
// and the bundle's removal are left to ReapInfra, which the pod's stop
// calls. When it cannot be seen to end (no pid recorded: a create that
// never finished) the delete, which kills by force, runs here, so the
// process is gone when StopInfra returns either way. An infra an older
// daemon started under a monitor is gone once the monitor recorded its
// exit (the monitor writes that record after StopInfra's kill).
func (m *Manager) StopInfra(ctx context.Context, sb *sandbox.Sandbox) error {
	rt, err := m.Runtime(sb.RuntimeHandler)
	if err != nil {
		return err
	}
	if err := signalInit(ctx, rt, sb.ID, sb.InfraPID, sb.InfraStart, syscall.SIGKILL); err != nil {
		return err
	}
	attach := filepath.Join(m.opts.AttachSocketDir, sb.ID)
	if _, err := os.Stat(attach); err == nil {
		exitFile := filepath.Join(m.opts.ExitsDir, sb.ID)
		waitMonitorExit(ctx, attach, exitFile, killGrace)
		if _, err := os.Stat(exitFile); err == nil {
			return nil
		}
	} else if sb.InfraPID > 0 && proc.WaitGone(sb.InfraPID, sb.InfraStart, killGrace) {
		return nil
	}
	return m.deleteInfra(ctx, rt, sb.ID)
}

// ReapInfra deletes a stopped infra's runtime container (its cgroup goes
// with it), its pause_image rootfs and its files, in the background. A
// daemon that dies first leaves a runtime container of a pod without a
// live infra, which SweepRuntime deletes at start.
func (m *Manager) ReapInfra(ctx context.Context, sb *sandbox.Sandbox) {
	rt, err := m.Runtime(sb.RuntimeHandler)
	if err != nil {
		return // StopInfra failed on it already
	}
	log := logging.From(ctx)
	id := sb.ID
	// A pause_image rootfs may be going: an image removal waits for it.
	m.reaps.start(id, []string{anyImage}, func() {
		fault.Point("infra-reap")
		if err := m.deleteInfra(context.WithoutCancel(ctx), rt, id); err != nil {
			log.Error("delete stopped pod infra from the runtime", "pod", id, "error", err)
		}
	})
}

// infraSpec is the pause process's spec (see spec.Infra).
func infraSpec(rootfs, command, cgroupsPath string, builtin bool, sb *sandbox.Sandbox) (*specs.Spec, error) {
	var ns []specs.LinuxNamespace
	paths := sb.NamespacePaths()
	for _, k := range []struct {
		kind sandbox.NS
		typ  specs.LinuxNamespaceType
	}{{sandbox.NetNS, specs.NetworkNamespace}, {sandbox.IPCNS, specs.IPCNamespace}, {sandbox.UTSNS, specs.UTSNamespace}, {sandbox.UserNS, specs.UserNamespace}} {
		if p, ok := paths[k.kind]; ok {
			ns = append(ns, specs.LinuxNamespace{Type: k.typ, Path: p})
		}
	}
	return spec.Infra(spec.InfraInput{
		Rootfs: rootfs, Command: command, CgroupsPath: cgroupsPath, Namespaces: ns,
		BuiltinPause: builtin, PidOnlyProc: pidOnlyProc(), GOARCH: runtime.GOARCH,
	})
}

// pidOnlyProc: Linux 5.8 mounts a /proc of processes only (subset=pid).
var pidOnlyProc = sync.OnceValue(func() bool { return oci.KernelAtLeast(5, 8) })
