// Package annotations turns the pod and container annotations CRI-O users
// rely on (devices.crio.io, umask.crio.io, unified-cgroup.crio.io, workload
// overrides, ...) into effects on a container. It is pure: it reads no
// files and asks the caller for host devices through a function.
//
// An annotation only counts when the pod's runtime handler, or the workload
// the pod activates, lists it in allowed_annotations; others are dropped
// silently, as CRI-O does. An allowed annotation with a bad value is an
// *Error, which callers report as InvalidArgument.
package annotations

import (
	"fmt"
	"slices"
	"strings"
)

// The current names (*.crio.io), with the older io.kubernetes.cri-o.* name
// each replaces. Where both are present the current one wins.
const (
	Devices       = "devices.crio.io"
	DevicesV1     = "io.kubernetes.cri-o.Devices"
	ShmSize       = "shm-size.crio.io"
	ShmSizeV1     = "io.kubernetes.cri-o.ShmSize"
	Umask         = "umask.crio.io"
	UmaskV1       = "io.kubernetes.cri-o.umask"
	LinkLogs      = "link-logs.crio.io"
	LinkLogsV1    = "io.kubernetes.cri-o.LinkLogs"
	UsernsMode    = "userns-mode.crio.io"
	UsernsModeV1  = "io.kubernetes.cri-o.userns-mode"
	DisableFIPS   = "disable-fips.crio.io"
	DisableFIPSV1 = "io.kubernetes.cri-o.DisableFIPS"
	Spoofed       = "spoofed.crio.io"
	SpoofedV1     = "io.kubernetes.cri-o.Spoofed"

	// SeccompProfile names an OCI artifact holding a seccomp profile, per
	// container ("<name>/<container>") or for the whole pod ("<name>/POD");
	// an image may carry the bare name.
	SeccompProfile   = "seccomp-profile.crio.io"
	SeccompProfileV1 = "seccomp-profile.kubernetes.cri-o.io"
	// PodSuffix selects every container of the pod in a per-container name.
	PodSuffix = "POD"

	// UnifiedCgroup is per container ("<name>/<container>"), valued
	// "key=value;key=value" with each value raw or base64.
	UnifiedCgroup   = "unified-cgroup.crio.io"
	UnifiedCgroupV1 = "io.kubernetes.cri-o.UnifiedCgroup"

	Cgroup2MountHierarchyRW   = "cgroup2-mount-hierarchy-rw.crio.io"
	Cgroup2MountHierarchyRWV1 = "io.kubernetes.cri-o.cgroup2-mount-hierarchy-rw"

	// PodLinuxOverhead and PodLinuxResources carry CRI
	// LinuxContainerResources as JSON.
	PodLinuxOverhead    = "pod-linux-overhead.crio.io"
	PodLinuxOverheadV1  = "io.kubernetes.cri-o.PodLinuxOverhead"
	PodLinuxResources   = "pod-linux-resources.crio.io"
	PodLinuxResourcesV1 = "io.kubernetes.cri-o.PodLinuxResources"

	SeccompNotifierAction       = "seccomp-notifier-action.crio.io"
	SeccompNotifierActionV1     = "io.kubernetes.cri-o.seccompNotifierAction"
	PlatformRuntimePath         = "platform-runtime-path.crio.io"
	PlatformRuntimePathV1       = "io.kubernetes.cri-o.PlatformRuntimePath"
	TrySkipVolumeSELinuxLabel   = "try-skip-volume-selinux-label.crio.io"
	TrySkipVolumeSELinuxLabelV1 = "io.kubernetes.cri-o.TrySkipVolumeSELinuxLabel"

	// The CPU annotations have no older name; each may be suffixed with
	// "/<container>", which wins over the bare pod-wide one.
	CPUQuota         = "cpu-quota.crio.io"
	CPULoadBalancing = "cpu-load-balancing.crio.io"
	CPUShared        = "cpu-shared.crio.io"
	IRQLoadBalancing = "irq-load-balancing.crio.io"
	CPUCStates       = "cpu-c-states.crio.io"
	CPUFreqGovernor  = "cpu-freq-governor.crio.io"

	SkipGoMaxProcs = "skip-gomaxprocs.crio.io"
	TraceSyscall   = "io.containers.trace-syscall"
	RdtClass       = "io.kubernetes.cri.rdt-class"
	StopSignal     = "org.opencontainers.image.stopSignal"
)

// v1Name maps each current name to the older one it replaces.
var v1Name = map[string]string{
	Devices:                   DevicesV1,
	ShmSize:                   ShmSizeV1,
	Umask:                     UmaskV1,
	LinkLogs:                  LinkLogsV1,
	UsernsMode:                UsernsModeV1,
	DisableFIPS:               DisableFIPSV1,
	Spoofed:                   SpoofedV1,
	SeccompProfile:            SeccompProfileV1,
	UnifiedCgroup:             UnifiedCgroupV1,
	Cgroup2MountHierarchyRW:   Cgroup2MountHierarchyRWV1,
	PodLinuxOverhead:          PodLinuxOverheadV1,
	PodLinuxResources:         PodLinuxResourcesV1,
	SeccompNotifierAction:     SeccompNotifierActionV1,
	PlatformRuntimePath:       PlatformRuntimePathV1,
	TrySkipVolumeSELinuxLabel: TrySkipVolumeSELinuxLabelV1,
}

// runtimeNames are annotation prefixes the OCI runtimes themselves act on
// (runc and crun); they reach the spec only when allowed.
var runtimeNames = []string{
	"bundle",
	"org.systemd.property.",
	"org.criu.config",
	"module.wasm.image/variant",
	"io.kubernetes.cri.container-type",
	"run.oci.",
}

// Known lists every name allowed_annotations may hold: CRI-O's set, current
// and older names plus the runtimes' own. A known name that a pod is not
// allowed filters every annotation it prefixes.
func Known() []string {
	out := slices.Clone(runtimeNames)
	out = append(out, RdtClass, CPUQuota, CPULoadBalancing, CPUShared, IRQLoadBalancing,
		CPUCStates, CPUFreqGovernor, SkipGoMaxProcs, TraceSyscall, StopSignal)
	for cur, old := range v1Name {
		out = append(out, cur, old)
	}
	slices.Sort(out)
	return out
}

var knownSet = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range Known() {
		m[n] = true
	}
	return m
}()

// ValidateAllowed checks an allowed_annotations list: every entry must be
// a known name (CRI-O refuses to start on an unknown one).
func ValidateAllowed(allowed []string) error {
	var bad []string
	for _, a := range allowed {
		if !knownSet[a] {
			bad = append(bad, fmt.Sprintf("%q", a))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("unknown allowed_annotations %s (known: %s)", strings.Join(bad, ", "), strings.Join(Known(), ", "))
	}
	return nil
}
