package annotations

import "github.com/crio-runtime/crio/pkg/config"

// PodInput is the Input of a pod's own annotations (no container) under
// runtime handler, with rc's allowed annotations, workloads and devices.
func PodInput(rc *config.RuntimeConfig, handler string, podAnnotations map[string]string, cgroupV2 bool) Input {
	return Input{
		HandlerAllowed: rc.HandlerAllowedAnnotations(handler), Workloads: rc.Workloads, AllowedDevices: rc.AllowedDevices,
		PodAnnotations: podAnnotations, CgroupV2: cgroupV2,
	}
}
