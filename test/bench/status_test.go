package bench

import (
	"fmt"
	"os"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
)

// TestBenchPodSandboxStatus: PodSandboxStatus round trips with 100 ready
// pods, plain and verbose (crictl inspectp). The goal is under 1 ms for
// both: the verbose form's CNI CHECK runs in the background.
func TestBenchPodSandboxStatus(t *testing.T) {
	if os.Getenv("CRIO_BENCH") == "" {
		t.Skip("set CRIO_BENCH=1 (make bench)")
	}
	framework.RequireRoot(t)
	d := framework.StartDaemon(t, framework.Options{RunTmpfs: true})
	const pods = 100
	ids := make([]string, pods)
	for i := range ids {
		r, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: framework.PodConfig(fmt.Sprintf("status-%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.PodSandboxId
	}
	for _, verbose := range []bool{false, true} {
		var ds dist
		for i := range 3 * pods {
			start := time.Now()
			if _, err := d.Runtime.PodSandboxStatus(framework.Ctx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: ids[i%pods], Verbose: verbose}); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		fmt.Printf("PodSandboxStatus with %d pods, verbose=%v: %v\n", pods, verbose, ds)
	}
}
