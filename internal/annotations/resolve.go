package annotations

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/pkg/config"
)

// Error is an allowed annotation with a value that cannot be used. Every
// error Resolve and ApplyToSpec return is one; callers answer
// InvalidArgument.
type Error struct {
	Annotation string // the key as the pod wrote it
	Msg        string
	Err        error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("annotation %q: %s", e.Annotation, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func bad(key, format string, args ...any) *Error {
	return &Error{Annotation: key, Msg: fmt.Sprintf(format, args...)}
}

// Input is what decides a container's (or, with no ContainerName, a pod's)
// annotation effects.
type Input struct {
	// HandlerAllowed is the pod's runtime handler allowed_annotations.
	HandlerAllowed []string
	// Workloads is [crio.runtime.workloads]; the first (by name) whose
	// activation annotation the pod carries is the pod's workload.
	Workloads map[string]*config.Workload
	// AllowedDevices is crio.runtime.allowed_devices: the only host devices
	// devices.crio.io may name.
	AllowedDevices []string
	// PodAnnotations and ContainerAnnotations are the CRI configs'; for
	// the same key the container's wins.
	PodAnnotations       map[string]string
	ContainerAnnotations map[string]string
	// ImageAnnotations are the image manifest's (only the seccomp profile
	// is read from them).
	ImageAnnotations map[string]string
	// ContainerName is the CRI metadata name; empty resolves only the
	// pod-level annotations (shm-size, link-logs, pod resources).
	ContainerName string
	// CgroupV2 is true on a unified hierarchy; unified-cgroup needs it.
	CgroupV2 bool
}

// Device is one devices.crio.io entry.
type Device struct {
	HostPath, ContainerPath string
	Permissions             string // a combination of r, w, m
}

// Resources are a workload's CPU settings for one container.
type Resources struct {
	CPUShares uint64 `json:"cpushares,omitempty"`
	CPUQuota  int64  `json:"cpuquota,omitempty"`
	CPUPeriod uint64 `json:"cpuperiod,omitempty"`
	CPUSet    string `json:"cpuset,omitempty"`
	CPULimit  int64  `json:"cpulimit,omitempty"`
}

// Effect is what the allowed annotations ask for. Zero values mean "not
// asked".
type Effect struct {
	// Dropped are container annotation keys that are not allowed; they
	// must not reach the OCI spec (runtimes act on some, e.g. run.oci.*).
	Dropped []string

	// Pod level (for the sandbox).
	ShmSize           int64 // bytes of the pod's /dev/shm
	LinkLogs          string
	PodLinuxOverhead  *runtimeapi.LinuxContainerResources
	PodLinuxResources *runtimeapi.LinuxContainerResources

	// Container level.
	Devices []Device
	Umask   *uint32
	Unified map[string]string
	// CgroupWritable mounts /sys/fs/cgroup read-write (cgroup v2 only).
	CgroupWritable bool
	// SeccompProfileRef is an OCI artifact reference holding a seccomp
	// profile; CRI-O uses it only when the container's own seccomp is
	// unset or Unconfined. SeccompProfileKey is the annotation it came from.
	SeccompProfileRef, SeccompProfileKey string
	CPUQuotaDisabled                     bool
	CPULoadBalancingDisabled             bool
	CPUShared                            bool
	IRQLoadBalancing                     string // "disable" or "housekeeping"

	// Workload is the active workload's name; WorkloadResources its CPU
	// settings for this container (defaults merged with the override).
	Workload          string
	WorkloadResources *Resources

	// NotApplied are allowed annotation keys present that this runtime
	// records but does not act on; callers log them.
	NotApplied []string
}

// Resolve filters the annotations by what the pod is allowed and parses
// the allowed ones.
func Resolve(in Input) (*Effect, error) {
	eff := &Effect{}
	name, wl := activeWorkload(in.Workloads, in.PodAnnotations)
	allowed := slices.Clone(in.HandlerAllowed)
	if wl != nil {
		eff.Workload = name
		allowed = append(allowed, wl.AllowedAnnotations...)
	}
	pod, _ := Filter(allowed, in.PodAnnotations)
	ctr, dropped := Filter(allowed, in.ContainerAnnotations)
	eff.Dropped = dropped
	img, _ := Filter(allowed, in.ImageAnnotations)
	ann := maps.Clone(pod)
	if ann == nil {
		ann = map[string]string{}
	}
	maps.Copy(ann, ctr)

	if err := eff.podLevel(ann); err != nil {
		return nil, err
	}
	if in.ContainerName == "" {
		return eff, nil
	}
	if err := eff.containerLevel(ann, img, in); err != nil {
		return nil, err
	}
	if wl != nil {
		res, err := workloadResources(wl, ann, in.ContainerName)
		if err != nil {
			return nil, err
		}
		eff.WorkloadResources = res
	}
	eff.notApplied(ann, in.ContainerName)
	return eff, nil
}

// Filter returns the annotations allowed by the list and the sorted keys it
// dropped: those a known name that is not allowed prefixes.
func Filter(allowed []string, ann map[string]string) (map[string]string, []string) {
	var deny []string
	for _, n := range Known() {
		if !slices.Contains(allowed, n) {
			deny = append(deny, n)
		}
	}
	out := make(map[string]string, len(ann))
	var dropped []string
	for k, v := range ann {
		if slices.ContainsFunc(deny, func(d string) bool { return strings.HasPrefix(k, d) }) {
			dropped = append(dropped, k)
			continue
		}
		out[k] = v
	}
	slices.Sort(dropped)
	return out, dropped
}

// activeWorkload picks, by name order, the first workload whose activation
// annotation the pod carries (any value).
func activeWorkload(wls map[string]*config.Workload, pod map[string]string) (string, *config.Workload) {
	for _, name := range slices.Sorted(maps.Keys(wls)) {
		w := wls[name]
		if w == nil || w.ActivationAnnotation == "" {
			continue
		}
		if _, ok := pod[w.ActivationAnnotation]; ok {
			return name, w
		}
	}
	return "", nil
}

// lookup finds a current name, then its older twin; suffix ("/ctr") is
// appended to both.
func lookup(ann map[string]string, name, suffix string) (val, key string, ok bool) {
	keys := []string{name + suffix}
	if old, has := v1Name[name]; has {
		keys = append(keys, old+suffix)
	}
	for _, k := range keys {
		if v, found := ann[k]; found {
			return v, k, true
		}
	}
	return "", "", false
}

func (eff *Effect) podLevel(ann map[string]string) error {
	if v, k, ok := lookup(ann, ShmSize, ""); ok {
		n, err := parseQuantity(v)
		if err != nil {
			return &Error{Annotation: k, Msg: fmt.Sprintf("bad size %q", v), Err: err}
		}
		eff.ShmSize = n
	}
	if v, k, ok := lookup(ann, LinkLogs, ""); ok {
		if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\x00") {
			return bad(k, "%q is not a volume name", v)
		}
		eff.LinkLogs = v
	}
	var err error
	if eff.PodLinuxOverhead, err = podResources(ann, PodLinuxOverhead); err != nil {
		return err
	}
	eff.PodLinuxResources, err = podResources(ann, PodLinuxResources)
	return err
}

func (eff *Effect) containerLevel(ann, img map[string]string, in Input) error {
	ctr := in.ContainerName
	if v, k, ok := lookup(ann, Devices, ""); ok {
		devs, err := parseDevices(k, v, in.AllowedDevices)
		if err != nil {
			return err
		}
		eff.Devices = devs
	}
	if v, k, ok := lookup(ann, Umask, ""); ok && v != "" {
		u, err := parseUmask(k, v)
		if err != nil {
			return err
		}
		eff.Umask = &u
	}
	if err := eff.unified(ann, in); err != nil {
		return err
	}
	if v, k, ok := lookup(ann, Cgroup2MountHierarchyRW, ""); ok {
		rw, err := parseBool(k, v)
		if err != nil {
			return err
		}
		eff.CgroupWritable = rw && in.CgroupV2
	}
	eff.seccomp(ann, img, ctr)
	return eff.cpu(ann, ctr)
}

func (eff *Effect) unified(ann map[string]string, in Input) error {
	v, k, ok := lookup(ann, UnifiedCgroup, "/"+in.ContainerName)
	if !ok {
		// The first CRI-O releases wrote the container after a dot.
		v, ok = ann[UnifiedCgroupV1+"."+in.ContainerName]
		k = UnifiedCgroupV1 + "." + in.ContainerName
	}
	if !ok || v == "" {
		return nil
	}
	u, err := parseUnified(k, v)
	if err != nil {
		return err
	}
	if !in.CgroupV2 {
		return bad(k, "needs a cgroup v2 (unified) host")
	}
	eff.Unified = u
	return nil
}

// seccomp follows CRI-O's order: the pod's per-container then pod-wide
// annotation, then the image's bare, per-container and pod-wide ones.
func (eff *Effect) seccomp(ann, img map[string]string, ctr string) {
	for _, c := range []struct {
		m      map[string]string
		suffix string
	}{{ann, "/" + ctr}, {ann, "/" + PodSuffix}, {img, ""}, {img, "/" + ctr}, {img, "/" + PodSuffix}} {
		if v, k, ok := lookup(c.m, SeccompProfile, c.suffix); ok && v != "" {
			eff.SeccompProfileRef, eff.SeccompProfileKey = v, k
			return
		}
	}
}

func (eff *Effect) cpu(ann map[string]string, ctr string) error {
	for _, c := range []struct {
		name  string
		vals  []string
		apply func(string)
	}{
		{CPUQuota, []string{"true", "disable", "enable"}, func(v string) { eff.CPUQuotaDisabled = v != "enable" }},
		{CPULoadBalancing, []string{"true", "disable", "enable"}, func(v string) { eff.CPULoadBalancingDisabled = v != "enable" }},
		{IRQLoadBalancing, []string{"true", "disable", "housekeeping", "enable"}, func(v string) {
			if v == "true" {
				v = "disable"
			}
			if v != "enable" {
				eff.IRQLoadBalancing = v
			}
		}},
	} {
		v, k, ok := perContainer(ann, c.name, ctr)
		if !ok {
			continue
		}
		if !slices.Contains(c.vals, v) {
			return bad(k, "%q is not one of %s", v, strings.Join(c.vals, ", "))
		}
		c.apply(v)
	}
	// cpu-shared has no pod-wide form.
	if v, ok := ann[CPUShared+"/"+ctr]; ok {
		switch v {
		case "enable":
			eff.CPUShared = true
		case "disable":
		default:
			return bad(CPUShared+"/"+ctr, "%q is not enable or disable", v)
		}
	}
	return nil
}

// perContainer prefers "<name>/<ctr>" over the bare name.
func perContainer(ann map[string]string, name, ctr string) (string, string, bool) {
	if v, ok := ann[name+"/"+ctr]; ok {
		return v, name + "/" + ctr, true
	}
	v, ok := ann[name]
	return v, name, ok
}

// notApplied lists allowed annotations present that nothing here acts on.
func (eff *Effect) notApplied(ann map[string]string, ctr string) {
	for _, n := range []string{UsernsMode, DisableFIPS, SeccompNotifierAction, PlatformRuntimePath,
		TrySkipVolumeSELinuxLabel, CPUCStates, CPUFreqGovernor, SkipGoMaxProcs, TraceSyscall, RdtClass} {
		if _, k, ok := lookup(ann, n, ""); ok {
			eff.NotApplied = append(eff.NotApplied, k)
		}
	}
	if eff.CPULoadBalancingDisabled {
		_, k, _ := perContainer(ann, CPULoadBalancing, ctr)
		eff.NotApplied = append(eff.NotApplied, k)
	}
	if eff.IRQLoadBalancing != "" {
		_, k, _ := perContainer(ann, IRQLoadBalancing, ctr)
		eff.NotApplied = append(eff.NotApplied, k)
	}
	if eff.CPUShared {
		eff.NotApplied = append(eff.NotApplied, CPUShared+"/"+ctr)
	}
	if v, k, ok := lookup(ann, Cgroup2MountHierarchyRW, ""); ok && v != "" && !eff.CgroupWritable {
		if rw, _ := parseBool(k, v); rw {
			eff.NotApplied = append(eff.NotApplied, k)
		}
	}
	slices.Sort(eff.NotApplied)
}
