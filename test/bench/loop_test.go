package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
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
// shows (sleep stands in for critest's top). CRIO_BENCH_N sets the samples
// and CRIO_BENCH_PAR the workers (60 and 2, as pair.sh's params). It also
// prints the whole machine's CPU time per sample (every process: daemon,
// monitors, runtime, CNI plugins), since two workers on two CPUs make each
// operation's latency mostly a matter of CPU.
func TestBenchContainerLoop(t *testing.T) {
	d, _, img := pairDaemon(t)
	ctx := framework.Ctx(t)
	n, par := 60, 2
	if v, _ := strconv.Atoi(os.Getenv("CRIO_BENCH_N")); v > 0 {
		n = v
	}
	if v, _ := strconv.Atoi(os.Getenv("CRIO_BENCH_PAR")); v > 0 {
		par = v
	}
	names := []string{"CreateContainer", "StartContainer", "ContainerStatus", "StopContainer", "RemoveContainer"}
	ops := make([]dist, len(names))
	var mu sync.Mutex
	timed := func(k int, f func() error) error {
		t0 := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", names[k], err)
		}
		mu.Lock()
		ops[k] = append(ops[k], time.Since(t0))
		mu.Unlock()
		return nil
	}
	sample := func(i int) error {
		cfg := critestPod(2000 + i)
		r, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			return err
		}
		var id string
		steps := []func() error{
			func() error {
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
			},
			func() error {
				_, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
				return err
			},
			func() error {
				_, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
				return err
			},
			func() error {
				_, err := d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 60})
				return err
			},
			func() error {
				_, err := d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
				return err
			},
		}
		for k, step := range steps {
			if err := timed(k, step); err != nil {
				return err
			}
		}
		if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: r.PodSandboxId}); err != nil {
			return err
		}
		_, err = d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: r.PodSandboxId})
		return err
	}
	cpu0, wall0 := machineCPU(t), time.Now()
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	errs := make(chan error, par)
	for w := 0; w < par; w++ {
		go func() {
			for i := range next {
				if err := sample(i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < par; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cpu, wall := machineCPU(t)-cpu0, time.Since(wall0)
	fmt.Printf("critest's container loop (pair.sh's chain, critest's pod, %d workers): %v of the machine's CPU per sample, %v wall\n",
		par, (cpu / time.Duration(n)).Round(10*time.Microsecond), (wall / time.Duration(n)).Round(10*time.Microsecond))
	for k, name := range names {
		fmt.Printf("  %-16s %v\n", name, ops[k])
	}
}

// machineCPU is the CPU time all processes used so far (/proc/stat).
func machineCPU(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal
	var ticks int64
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
