// Package fault is a crash switch for tests only: with CRIO_TEST_FAULT set
// to a point's name in the daemon's environment, the daemon kills itself
// with SIGKILL when it reaches that point, as a crash there would. Unset,
// as it always is outside tests, Point does nothing.
//
// Points: "after-pod-record" (RunPodSandbox of a pod sharing one PID
// namespace, its record written, its infra maybe in creation) and
// "after-infra-create" (its infra running, its PID namespace not pinned),
// "container-reap" (RemoveContainer: the record deleted, the runtime
// container, rootfs and bundle not yet), "infra-reap" (StopPodSandbox: the
// stop recorded, the infra's runtime container not deleted yet),
// "pod-reap" (RemovePodSandbox: the records deleted, the pod's files not
// yet), "image-reap" (RemoveImage: the
// image hidden and its marker written, the storage deletion not yet),
// "after-runtime-start" (StartContainer: the process started, its record
// not yet written).
package fault

import (
	"os"
	"syscall"
)

var armed = os.Getenv("CRIO_TEST_FAULT")

// Point crashes the daemon if the armed fault is name.
func Point(name string) {
	if armed != "" && armed == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
