package container

import (
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/annotations"
	"github.com/crio-runtime/crio/internal/cdi"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/image"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/spec"
	"github.com/crio-runtime/crio/internal/spec/hostos"
)

// hostLimits are read once: what this daemon may grant containers.
var hostLimits = sync.OnceValues(func() ([]string, int) {
	caps, err := hostos.BoundingCapabilities()
	if err != nil {
		caps = nil
	}
	minOOM, err := hostos.MinOOMScoreAdj()
	if err != nil {
		minOOM = 0
	}
	return caps, minOOM
})

// hostCgroups is what the host's cgroups can enforce, read once.
var hostCgroups = sync.OnceValue(hostos.Cgroups)

// buildSpec makes the container's OCI spec: the spec package's rules
// applied to the request, pod, image and runtime config, then the allowed
// annotations, hooks, what the host can enforce and the cgroup path.
func (m *Manager) buildSpec(c *Container, sb *sandbox.Sandbox, podCfg *runtimeapi.PodSandboxConfig, img *image.ContainerImage, rootfs string, imageMounts map[string]string, targetPIDNS string) (*spec.Result, error) {
	rc := m.cfg().Crio
	nodeMounts, err := nodeFiles(c.Bundle, &rc.Runtime)
	if err != nil {
		return nil, errdefs.FailedPrecondition("node files: %w", err)
	}
	runtimeOpts, err := m.specRuntimeOptions(sb.RuntimeHandler)
	if err != nil {
		return nil, err
	}
	in := spec.Input{
		ContainerID:     c.ID,
		TargetPIDNSPath: targetPIDNS,
		Config:          c.Config.ContainerConfig,
		SandboxConfig:   podCfg,
		Sandbox:         m.specSandbox(sb),
		Image:           specImage(img),
		RootfsPath:      rootfs,
		Runtime:         runtimeOpts,
		NodeMounts:      nodeMounts,
		Host:            hostos.Host{},
		ImageMounts:     imageMounts,
		VolumeBindDir:   c.Bundle + "-volumes",
		// Written by prepareRootfs before the runtime needs it.
		ContainerEnvPath: containerEnvFile(c.Bundle),
	}
	if f := imageFile(rootfs, "/etc/passwd"); f != nil {
		defer f.Close()
		in.Passwd = f
	}
	if f := imageFile(rootfs, "/etc/group"); f != nil {
		defer f.Close()
		in.Group = f
	}
	eff, err := m.specAnnotations(c, sb)
	if err != nil {
		return nil, err
	}
	res, err := spec.Build(in)
	if err != nil {
		return nil, err
	}
	if err := m.fitSpecToHost(res, eff, c, sb); err != nil {
		return nil, err
	}
	return res, nil
}

// specRuntimeOptions are the runtime config's settings for the spec, with
// the handler's own where it has them and the host's limits.
func (m *Manager) specRuntimeOptions(handler string) (spec.RuntimeOptions, error) {
	rc := m.cfg().Crio
	h := rc.Runtime.Runtimes[handler]
	caps, minOOM := hostLimits()
	if rc.Runtime.MinOOMScoreAdj > minOOM {
		minOOM = rc.Runtime.MinOOMScoreAdj
	}
	addDevs, err := additionalDevices(rc.Runtime.AdditionalDevices)
	if err != nil {
		return spec.RuntimeOptions{}, errdefs.FailedPrecondition("%w", err)
	}
	seccompProfile := rc.Runtime.SeccompProfile
	if h != nil && h.SeccompProfile != "" {
		seccompProfile = h.SeccompProfile // the handler's own beats the global one
	}
	rro := false
	if rt, err := m.Runtime(handler); err == nil {
		rro = oci.RecursiveReadOnly(rt.Path)
	}
	return spec.RuntimeOptions{
		DefaultCapabilities:          rc.Runtime.DefaultCapabilities,
		HostCapabilities:             caps,
		DefaultUlimits:               rc.Runtime.DefaultUlimits,
		DefaultSysctls:               rc.Runtime.DefaultSysctls,
		DefaultEnv:                   rc.Runtime.DefaultEnv,
		SeccompUseDefaultWhenEmpty:   rc.Runtime.SeccompUseDefaultWhenEmpty,
		SeccompProfilePath:           seccompProfile,
		ImageVolumes:                 rc.Image.ImageVolumes,
		MinOOMScoreAdj:               minOOM,
		PidsLimit:                    rc.Runtime.PidsLimit,
		PrivilegedWithoutHostDevices: h != nil && h.PrivilegedWithoutHostDevices,
		RecursiveReadOnly:            rro,
		AdditionalDevices:            addDevs,
		AbsentMountSourcesToReject:   rc.Runtime.AbsentMountSourcesToReject,
	}, nil
}

// specSandbox is what the spec takes from the pod.
func (m *Manager) specSandbox(sb *sandbox.Sandbox) spec.Sandbox {
	return spec.Sandbox{
		NetNSPath:      sb.Namespace(sandbox.NetNS),
		IPCNSPath:      sb.Namespace(sandbox.IPCNS),
		UTSNSPath:      sb.Namespace(sandbox.UTSNS),
		PIDNSPath:      sb.PIDNamespace(),
		CgroupParent:   sb.CgroupParent,
		CgroupDriver:   m.cfg().Crio.Runtime.CgroupManager,
		CgroupV2:       m.opts.CgroupV2,
		Hostname:       sb.Hostname,
		HostnamePath:   sb.Files.Hostname,
		HostsPath:      sb.Files.Hosts,
		ResolvConfPath: sb.Files.ResolvConf,
		ShmPath:        sb.Files.Shm,
	}
}

// specImage is what the spec takes from the image's config.
func specImage(img *image.ContainerImage) spec.ImageConfig {
	return spec.ImageConfig{
		Entrypoint: img.Config.Entrypoint, Cmd: img.Config.Cmd, Env: img.Config.Env,
		WorkingDir: img.Config.WorkingDir, User: img.Config.User, StopSignal: img.Config.StopSignal,
		Volumes: volumeList(img.Config.Volumes),
	}
}

// specAnnotations resolves the pod's and container's annotations the
// handler allows into their effects.
func (m *Manager) specAnnotations(c *Container, sb *sandbox.Sandbox) (*annotations.Effect, error) {
	in := annotations.PodInput(&m.cfg().Crio.Runtime, sb.RuntimeHandler, sb.Config.GetAnnotations(), m.opts.CgroupV2)
	in.ContainerAnnotations, in.ContainerName = c.Config.GetAnnotations(), c.Config.GetMetadata().GetName()
	eff, err := annotations.Resolve(in)
	if err != nil {
		return nil, errdefs.Invalid("", "%w", err)
	}
	if eff.SeccompProfileRef != "" {
		return nil, errdefs.Invalid("", "annotation %q: seccomp profiles from OCI artifacts are not supported", eff.SeccompProfileKey)
	}
	return eff, nil
}

// fitSpecToHost applies the annotations' effects, the hooks and the CDI
// devices to the built spec, leaves out what the host cannot enforce (with a warning) and
// lays out the cgroup path for this host.
func (m *Manager) fitSpecToHost(res *spec.Result, eff *annotations.Effect, c *Container, sb *sandbox.Sandbox) error {
	rc := m.cfg().Crio
	if err := annotations.ApplyToSpec(res.Spec, eff, hostos.Host{}.Devices); err != nil {
		return errdefs.Invalid("", "%w", err)
	}
	applyHooks(res, rc.Runtime.HooksDir, c.Config.GetAnnotations(), sb.Config.GetAnnotations(), len(c.Config.GetMounts()) > 0)
	if err := cdi.Inject(rc.Runtime.CDISpecDirs, res.Spec, c.Config.ContainerConfig); err != nil {
		return err
	}
	warn, err := spec.FitResources(res.Spec.Linux.Resources, m.cgroupSupport())
	if err != nil {
		return err
	}
	res.HostWarnings = append(res.HostWarnings, warn...)
	for _, k := range eff.NotApplied {
		res.Warnings = append(res.Warnings, "annotation "+k+" is allowed but has no effect in this runtime")
	}
	res.Spec.Linux.CgroupsPath, err = m.hostCgroupsPath(res.Spec.Linux.CgroupsPath)
	return err
}

func volumeList(v map[string]struct{}) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}

// prepareHost does the host-side work the spec asks for: volume dirs and
// mount propagation of the host mounts that back shared/slave mounts.
func prepareHost(res *spec.Result, rootfs string) error {
	for _, d := range res.MountSourceDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var uid, gid uint32
	if p := res.Spec.Process; p != nil {
		uid, gid = p.User.UID, p.User.GID
	}
	if err := makeVolumeDirs(res.VolumeDirs, rootfs, uid, gid); err != nil {
		return err
	}
	for _, p := range res.Propagation {
		if err := ensurePropagation(p.Path, p.Mode); err != nil {
			return err
		}
	}
	return nil
}

// ensurePropagation makes the mount holding path shared (for rshared) or at
// least slave-capable, as runc requires of the source's mount.
func ensurePropagation(path, mode string) error {
	mp, opts, err := mountOf(path)
	if err != nil {
		return err
	}
	if hasOpt(opts, "shared:") {
		return nil
	}
	if mode == spec.PropagationSlave && hasOpt(opts, "master:") {
		return nil
	}
	return unix.Mount("", mp, "", unix.MS_SHARED, "")
}

// cgroupSupport is what the host's cgroups can enforce.
func (m *Manager) cgroupSupport() *spec.CgroupSupport {
	cs := hostCgroups()
	return &cs
}

// logHostWarnings logs each host adjustment once per daemon start: the
// kubelet sends the same unenforceable limits on every container.
func (m *Manager) logHostWarnings(log *slog.Logger, warnings []string) {
	for _, w := range warnings {
		if _, seen := m.hostWarned.LoadOrStore(w, true); !seen {
			log.Warn("host cannot enforce a requested setting; left out (logged once)", "warning", w)
		}
	}
}
