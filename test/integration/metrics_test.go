package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// crioMetrics are CRI-O's metrics (container_runtime_crio_ + name) with
// their types, as CRI-O's default metrics_collectors list selects them.
var crioMetrics = map[string]string{
	"image_pulls_layer_size": "histogram", "containers_events_dropped_total": "counter",
	"containers_oom_total": "counter", "processes_defunct": "gauge", "operations_total": "counter",
	"operations_latency_seconds": "gauge", "operations_latency_seconds_total": "summary",
	"operations_errors_total": "counter", "image_pulls_bytes_total": "counter",
	"image_pulls_skipped_bytes_total": "counter", "image_pulls_failure_total": "counter",
	"image_pulls_success_total": "counter", "image_layer_reuse_total": "counter",
	"containers_oom_count_total": "counter", "containers_seccomp_notifier_count_total": "counter",
	"resources_stalled_at_stage": "counter", "containers_stopped_monitor_count": "counter",
	"default_runtime": "gauge",
}

// notDriven are labelled series this test does not produce (there is no
// seccomp notifier; a create repeated mid-creation is driven by the retry
// tests instead), so they have no series and the text format omits them.
var notDriven = map[string]bool{"containers_seccomp_notifier_count_total": true, "resources_stalled_at_stage": true}

func scrapeMetrics(t *testing.T, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// metricTypes reads the "# TYPE name type" lines.
func metricTypes(body string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}

// TestMetricsWithCRIODefaultCollectors starts the daemon with CRI-O's
// default metrics_collectors list, pulls (twice, and a missing tag), runs
// a pod with a container that is OOM-killed and one whose monitor is
// killed, and checks every CRI-O metric is served with CRI-O's type.
func TestMetricsWithCRIODefaultCollectors(t *testing.T) {
	framework.RequireRoot(t)
	port := freePort(t)
	list := make([]string, 0, len(crioMetrics))
	for n := range crioMetrics {
		list = append(list, fmt.Sprintf("%q", n))
	}
	e := newEnvWith(t, registry.Image{}, framework.Options{Config: fmt.Sprintf(
		"\n[crio.metrics]\nenable_metrics = true\nmetrics_port = %d\nmetrics_collectors = [%s]\n", port, strings.Join(list, ", "))})
	ctx := framework.Ctx(t)
	// A second pull of the same image reuses every layer.
	if _, err := e.d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.reg.Addr + "/busybox:missing"}}); err == nil {
		t.Fatal("pull of a missing tag succeeded")
	}
	podID, podCfg := e.pod(t, "metrics")
	hog := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "hog"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{"sh", "-c", "x=$(head -c 256m /dev/zero | tr '\\0' a); echo survived"},
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources:       &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 32 << 20},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}},
		},
	})
	if st := e.waitExited(t, hog); st.Reason != "OOMKilled" {
		t.Errorf("hog: want OOMKilled, got %s/%d", st.Reason, st.ExitCode)
	}
	watched := e.create(t, podID, podCfg, "watched", "sleep", "300")
	e.start(t, watched)
	killMonitor(t, e, watched)

	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		body = scrapeMetrics(t, port)
		if strings.Contains(body, `container_runtime_crio_containers_stopped_monitor_count{name="watched"} 1`) &&
			strings.Contains(body, `container_runtime_crio_containers_oom_count_total{name="hog"} 1`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	types := metricTypes(body)
	for n, typ := range crioMetrics {
		got, ok := types["container_runtime_crio_"+n]
		switch {
		case !ok && notDriven[n]:
			t.Logf("%s: no series (nothing here produces one)", n)
		case got != typ:
			t.Errorf("container_runtime_crio_%s: type %q, want %q", n, got, typ)
		}
	}
	for _, want := range []string{
		`container_runtime_crio_operations_total{operation="PullImage"} 3`,
		`container_runtime_crio_operations_errors_total{operation="PullImage"} 1`,
		`container_runtime_crio_operations_latency_seconds{operation="RunPodSandbox"} `,
		`container_runtime_crio_operations_latency_seconds{operation="network_setup_pod"} `,
		`container_runtime_crio_operations_latency_seconds_total_count{operation="CreateContainer"} 2`,
		`container_runtime_crio_image_pulls_success_total 2`,
		`container_runtime_crio_image_pulls_failure_total{error="MANIFEST_UNKNOWN"} 1`,
		`container_runtime_crio_image_pulls_bytes_total{mediatype="application/vnd.`,
		`container_runtime_crio_image_pulls_skipped_bytes_total{size=`,
		`container_runtime_crio_image_layer_reuse_total{name="` + e.image + `@sha256:`,
		`container_runtime_crio_containers_oom_total 1`,
		`container_runtime_crio_containers_oom_count_total{name="hog"} 1`,
		`container_runtime_crio_containers_stopped_monitor_count{name="watched"} 1`,
		`container_runtime_crio_default_runtime{runtime="runc"} 1`,
		`container_runtime_crio_processes_defunct `,
		// Ours stay.
		`container_runtime_crio_containers_started_total 2`,
		`container_runtime_crio_monitors `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if sum := layerSizeCount(body); sum < 1 {
		t.Errorf("image_pulls_layer_size_count = %d, want >= 1", sum)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	// The daemon itself kills a container whose monitor died (and records
	// its exit), so the pod's removal finds it gone.
}

func layerSizeCount(body string) int {
	var n int
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "container_runtime_crio_image_pulls_layer_size_count "); ok {
			_, _ = fmt.Sscan(v, &n)
		}
	}
	return n
}

func containerInfo(t *testing.T, e *env, id string) map[string]any {
	t.Helper()
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		t.Fatalf("status info %q: %v", st.Info["info"], err)
	}
	return info
}

func killMonitor(t *testing.T, e *env, id string) {
	t.Helper()
	pid, _ := containerInfo(t, e, id)["monitorPid"].(float64)
	if pid <= 0 {
		t.Fatalf("no monitor pid for %s", id)
	}
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}
