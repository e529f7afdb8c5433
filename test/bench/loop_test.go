package bench

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
)

// TestBenchContainerLoop: critest's container benchmark loop against our
// daemon alone, on pair.sh's chain: per sample a pod (untimed), then
// ImageStatus + CreateContainer, StartContainer, verbose ContainerStatus,
// StopContainer and RemoveContainer, each timed, then the pod's stop and
// remove (untimed), back to back as critest makes them. The status call
// right after the start is where background work a start leaves behind
// shows (sleep stands in for critest's top). CRIO_BENCH_N sets the samples (60, as pair.sh's params).
func TestBenchContainerLoop(t *testing.T) {
	d, _, img := pairDaemon(t)
	ctx := framework.Ctx(t)
	n := 60
	if v, _ := strconv.Atoi(os.Getenv("CRIO_BENCH_N")); v > 0 {
		n = v
	}
	names := []string{"CreateContainer", "StartContainer", "ContainerStatus", "StopContainer", "RemoveContainer"}
	ops := make([]dist, len(names))
	timed := func(k int, f func() error) {
		t.Helper()
		t0 := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", names[k], err)
		}
		ops[k] = append(ops[k], time.Since(t0))
	}
	for i := 0; i < n; i++ {
		cfg := critestPod(2000 + i)
		r, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		var id string
		timed(0, func() error {
			if _, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
				return err
			}
			c := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("c%d", i)}, Image: &runtimeapi.ImageSpec{Image: img},
				Command: []string{"sleep", "3600"}, Linux: &runtimeapi.LinuxContainerConfig{}}
			cr, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: r.PodSandboxId, Config: c, SandboxConfig: cfg})
			if err == nil {
				id = cr.ContainerId
			}
			return err
		})
		timed(1, func() error {
			_, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
			return err
		})
		timed(2, func() error {
			_, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
			return err
		})
		timed(3, func() error {
			_, err := d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 60})
			return err
		})
		timed(4, func() error {
			_, err := d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
			return err
		})
		if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: r.PodSandboxId}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: r.PodSandboxId}); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("critest's container loop (pair.sh's chain, critest's pod):")
	for k, name := range names {
		fmt.Printf("  %-16s %v\n", name, ops[k])
	}
}
