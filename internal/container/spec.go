package container

import (
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/annotations"
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

func (m *Manager) buildSpec(c *Container, sb *sandbox.Sandbox, podCfg *runtimeapi.PodSandboxConfig, img *image.ContainerImage, rootfs string, imageMounts map[string]string, targetPIDNS string) (*spec.Result, error) {
	rc := m.cfg().Crio
	caps, minOOM := hostLimits()
	if rc.Runtime.MinOOMScoreAdj > minOOM {
		minOOM = rc.Runtime.MinOOMScoreAdj
	}
	h := rc.Runtime.Runtimes[sb.RuntimeHandler]
	nodeMounts, err := nodeFiles(c.Bundle, &rc.Runtime)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "node files: %v", err)
	}
	addDevs, err := additionalDevices(rc.Runtime.AdditionalDevices)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	seccompProfile := rc.Runtime.SeccompProfile
	if h != nil && h.SeccompProfile != "" {
		seccompProfile = h.SeccompProfile // the handler's own beats the global one
	}
	rro := false
	if rt, err := m.Runtime(sb.RuntimeHandler); err == nil {
		rro = oci.RecursiveReadOnly(rt.Path)
	}
	in := spec.Input{
		ContainerID:     c.ID,
		TargetPIDNSPath: targetPIDNS,
		Config:          c.Config.ContainerConfig,
		SandboxConfig:   podCfg,
		Sandbox: spec.Sandbox{
			NetNSPath:      sb.Namespace(sandbox.NetNS),
			IPCNSPath:      sb.Namespace(sandbox.IPCNS),
			UTSNSPath:      sb.Namespace(sandbox.UTSNS),
			PIDNSPath:      sb.PIDNamespace(),
			UserNSPath:     sb.Namespace(sandbox.UserNS),
			CgroupParent:   sb.CgroupParent,
			CgroupDriver:   rc.Runtime.CgroupManager,
			CgroupV2:       m.opts.CgroupV2,
			Hostname:       sb.Hostname,
			HostnamePath:   sb.Files.Hostname,
			HostsPath:      sb.Files.Hosts,
			ResolvConfPath: sb.Files.ResolvConf,
			ShmPath:        sb.Files.Shm,
		},
		Image: spec.ImageConfig{
			Entrypoint: img.Config.Entrypoint, Cmd: img.Config.Cmd, Env: img.Config.Env,
			WorkingDir: img.Config.WorkingDir, User: img.Config.User, StopSignal: img.Config.StopSignal,
			Volumes: volumeList(img.Config.Volumes),
		},
		RootfsPath: rootfs,
		Runtime: spec.RuntimeOptions{
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
		},
		NodeMounts:    nodeMounts,
		Host:          hostos.Host{},
		ImageMounts:   imageMounts,
		VolumeBindDir: c.Bundle + "-volumes",
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
	var allowed []string
	if h != nil {
		allowed = h.AllowedAnnotations
	}
	eff, err := annotations.Resolve(annotations.Input{
		HandlerAllowed:       allowed,
		Workloads:            rc.Runtime.Workloads,
		AllowedDevices:       rc.Runtime.AllowedDevices,
		PodAnnotations:       sb.Config.GetAnnotations(),
		ContainerAnnotations: c.Config.GetAnnotations(),
		ContainerName:        c.Config.GetMetadata().GetName(),
		CgroupV2:             m.opts.CgroupV2,
	})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if eff.SeccompProfileRef != "" {
		return nil, status.Errorf(codes.InvalidArgument, "annotation %q: seccomp profiles from OCI artifacts are not supported", eff.SeccompProfileKey)
	}
	res, err := spec.Build(in)
	if err != nil {
		return nil, err
	}
	if err := annotations.ApplyToSpec(res.Spec, eff, hostos.Host{}.Devices); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	applyHooks(res, rc.Runtime.HooksDir, c.Config.GetAnnotations(), sb.Config.GetAnnotations(), len(c.Config.GetMounts()) > 0)
	warn, err := spec.FitResources(res.Spec.Linux.Resources, m.cgroupSupport())
	if err != nil {
		return nil, err
	}
	res.HostWarnings = append(res.HostWarnings, warn...)
	for _, k := range eff.NotApplied {
		res.Warnings = append(res.Warnings, "annotation "+k+" is allowed but has no effect in this runtime")
	}
	if res.Spec.Linux.CgroupsPath, err = m.hostCgroupsPath(res.Spec.Linux.CgroupsPath); err != nil {
		return nil, err
	}
	return res, nil
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
func prepareHost(res *spec.Result, rootfs string, userns *sandbox.Userns) error {
	for _, d := range res.MountSourceDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var uid, gid uint32
	if p := res.Spec.Process; p != nil {
		uid, gid = p.User.UID, p.User.GID
	}
	uid, gid = ownerOnHost(uid, gid, userns)
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
