package spec

import (
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Input is everything Build needs. Only Config, RootfsPath and ContainerID
// are required; the rest have usable zero values.
type Input struct {
	ContainerID   string
	Config        *runtimeapi.ContainerConfig
	SandboxConfig *runtimeapi.PodSandboxConfig
	Sandbox       Sandbox
	Image         ImageConfig
	// RootfsPath is the mounted container root from storage.
	RootfsPath string
	// Passwd and Group are the image's /etc/passwd and /etc/group; nil when
	// the image has none.
	Passwd, Group io.Reader
	Runtime       RuntimeOptions
	// Host performs the few host reads a spec needs; nil means the host has
	// nothing (every read fails with fs.ErrNotExist).
	Host Host
	// TargetPIDNSPath is the pid namespace of the target container when the
	// PID NamespaceMode is TARGET (resolved by the caller from target_id).
	TargetPIDNSPath string
	// ImageMounts maps a CRI Mount.Image reference to the host path where the
	// caller mounted that image (read-only).
	ImageMounts map[string]string
	// VolumeBindDir is a container-private host directory under which image
	// volumes are created when image_volumes = bind.
	VolumeBindDir string
	// NodeMounts are mounts every container gets from node files the caller
	// prepared (default_mounts_file entries, the timezone's localtime). A
	// CRI mount at the same destination wins.
	NodeMounts []specs.Mount
	// ContainerEnvPath is the host path of the empty file bound at
	// /run/.containerenv (the CRI-O/podman "in a container" marker); empty
	// means no such mount.
	ContainerEnvPath string
	// RunAsNonRoot asks Build to refuse a container that would run as uid 0.
	// CRI does not carry this (the kubelet checks it itself); callers that
	// want the check set it.
	RunAsNonRoot bool
}

// Sandbox is what the pod already owns.
type Sandbox struct {
	// Namespace paths pinned by the sandbox; empty means the host's.
	NetNSPath, IPCNSPath, UTSNSPath string
	// PIDNSPath is the pid namespace of the pod's infra process, set only
	// when the pod shares one PID namespace.
	PIDNSPath string
	// UserNSPath is the pod's user namespace, set only when the pod has its
	// own (UsernsOptions mode POD); its other namespaces are inside it.
	UserNSPath string
	// CgroupParent is the pod's cgroup parent (a path for cgroupfs, a
	// ".slice" name for systemd).
	CgroupParent string
	// CgroupDriver is "cgroupfs" (default) or "systemd".
	CgroupDriver string
	// CgroupV2 is true on a unified (v2 only) hierarchy.
	CgroupV2 bool
	Hostname string
	// Host paths of the pod's files; empty ones are not mounted.
	HostnamePath, HostsPath, ResolvConfPath string
	// ShmPath is the pod's /dev/shm directory; empty gives the container
	// a private tmpfs.
	ShmPath string
}

// ImageConfig is the part of the OCI image config a container uses.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	Volumes    []string
	StopSignal string
}

// Image volume modes (image_volumes).
const (
	ImageVolumesMkdir  = "mkdir"
	ImageVolumesBind   = "bind"
	ImageVolumesIgnore = "ignore"
)

// RuntimeOptions is the runtime configuration that shapes a spec.
type RuntimeOptions struct {
	// DefaultCapabilities without or with CAP_ prefix; nil means
	// DefaultCapabilities.
	DefaultCapabilities []string
	// HostCapabilities are the capabilities the runtime can grant (its own
	// bounding set). nil means every known capability.
	HostCapabilities []string
	// DefaultUlimits in CRI-O form "nofile=1024:2048".
	DefaultUlimits []string
	// DefaultSysctls in the form "key=value".
	DefaultSysctls []string
	// DefaultEnv in the form "KEY=value", applied between image and CRI env.
	DefaultEnv []string
	// SeccompUseDefaultWhenEmpty makes an unset seccomp request mean
	// RuntimeDefault (CRI-O's default is true) instead of Unconfined.
	SeccompUseDefaultWhenEmpty bool
	// SeccompProfilePath replaces the built-in default profile when set.
	SeccompProfilePath string
	// ImageVolumes is mkdir (default), bind or ignore.
	ImageVolumes string
	// MinOOMScoreAdj is the lowest oom_score_adj this host lets the runtime
	// set; lower requests are clamped with a warning.
	MinOOMScoreAdj int
	// PidsLimit is applied when > 0.
	PidsLimit int64
	// MaskedPaths and ReadonlyPaths replace the defaults when non-nil.
	MaskedPaths, ReadonlyPaths []string
	// PrivilegedWithoutHostDevices keeps host devices out of privileged
	// containers.
	PrivilegedWithoutHostDevices bool
	// RecursiveReadOnly is true when the runtime and kernel support "rro".
	RecursiveReadOnly bool
	LSM               LSM
	// AdditionalDevices are added to every container (additional_devices).
	AdditionalDevices []DeviceMapping
	// AbsentMountSourcesToReject are host paths a CRI mount may not have
	// created for it when absent; other absent host paths are created as
	// directories, as in CRI-O.
	AbsentMountSourcesToReject []string
}

// DeviceMapping is a host device made available at ContainerPath with
// cgroup Permissions ("" means rwm).
type DeviceMapping struct {
	HostPath, ContainerPath, Permissions string
}

// LSM is the seam for AppArmor and SELinux.
type LSM struct {
	AppArmor bool
	// AppArmorDefaultProfile is used for RuntimeDefault when AppArmor is on.
	AppArmorDefaultProfile string
	SELinux                bool
}

// Host is the seam for host reads. hostos.Host implements it.
type Host interface {
	// ReadFile reads a whole file (localhost seccomp profiles).
	ReadFile(path string) ([]byte, error)
	// EvalSymlinks resolves a host path; missing paths give an error
	// wrapping fs.ErrNotExist.
	EvalSymlinks(path string) (string, error)
	// Devices returns the device node at path, or every device node below
	// it when it is a directory. Path in each result is the host path.
	Devices(path string) ([]specs.LinuxDevice, error)
}

// Result is the outcome of Build.
type Result struct {
	Spec *specs.Spec
	// User is the resolved identity, for ContainerStatus.User.
	User *runtimeapi.ContainerUser
	// VolumeDirs are absolute host directories the caller must create
	// (mode 0755, owned by User) before starting the container: image
	// volumes inside the rootfs (mkdir) or under VolumeBindDir (bind).
	VolumeDirs []string
	// MountSourceDirs are absent host paths of CRI mounts the caller must
	// create as directories (mode 0755) before starting the container.
	MountSourceDirs []string
	// Propagation lists host paths whose mount must have the given
	// propagation for the container's mounts to work.
	Propagation []PropagationNeed
	// StopSignal is the signal name (e.g. "SIGTERM") to stop with.
	StopSignal string
	// Warnings are adjustments made instead of failing.
	Warnings []string
	// HostWarnings are adjustments due to the host, the same for every
	// container: callers log each once per daemon start.
	HostWarnings []string
}

// PropagationNeed asks the caller to make the mount holding Path shared
// ("shared") or at least slave-or-shared ("slave").
type PropagationNeed struct {
	Path string
	Mode string
}
