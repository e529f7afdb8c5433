package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/crio-runtime/crio/pkg/config"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSeriesAndInterceptors(t *testing.T) {
	m := New(Options{Monitors: func() float64 { return 3 }, DefaultRuntime: func() string { return "runc" }})
	unary, stream := m.Interceptors()
	info := &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/ContainerStatus"}
	ok := func(ctx context.Context, req any) (any, error) { return "x", nil }
	bad := func(ctx context.Context, req any) (any, error) { return nil, status.Error(codes.NotFound, "nope") }
	for _, h := range []grpc.UnaryHandler{ok, ok, bad} {
		_, _ = unary(context.Background(), nil, info, h)
	}
	_ = stream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/runtime.v1.RuntimeService/GetContainerEvents"},
		func(any, grpc.ServerStream) error { return nil })
	m.PullBytes("application/vnd.oci.image.layer.v1.tar+gzip", 2e6, 1500, false)
	m.PullBytes("application/vnd.oci.image.layer.v1.tar+gzip", 2e6, 500, true)
	m.PullSkipped("reg/busybox:1@sha256:ab", 5000)
	m.ImagePull(nil, "")
	m.ImagePull(errors.New("boom"), "MANIFEST_UNKNOWN")
	m.ContainerStarted()
	m.ContainerExited("hog", true)
	m.ContainerExited("gone", true)
	m.ContainerRemoved("gone", true)
	m.MonitorStopped("web")
	m.Stage("cni_add", 20*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, ServeOptions{Host: "127.0.0.1", Port: "0"})
	if err != nil {
		t.Fatal(err)
	}
	body := scrape(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`container_runtime_crio_operations_total{operation="ContainerStatus"} 3`,
		`container_runtime_crio_operations_total{operation="GetContainerEvents"} 1`,
		`container_runtime_crio_operations_errors_total{operation="ContainerStatus"} 1`,
		`container_runtime_crio_operations_errors_by_code_total{error="NotFound",operation="ContainerStatus"} 1`,
		`container_runtime_crio_operations_latency_seconds_total_count{operation="ContainerStatus"} 3`,
		`container_runtime_crio_operations_latency_seconds{operation="network_setup_pod"} 0.02`,
		`container_runtime_crio_image_pulls_bytes_total{mediatype="application/vnd.oci.image.layer.v1.tar+gzip",size=">1 MiB"} 2000`,
		`container_runtime_crio_image_pulls_layer_size_count 1`,
		`container_runtime_crio_image_pulls_skipped_bytes_total{size=">1 KiB"} 5000`,
		`container_runtime_crio_image_layer_reuse_total{name="reg/busybox:1@sha256:ab"} 1`,
		`container_runtime_crio_image_pulls_success_total 1`,
		`container_runtime_crio_image_pulls_failure_total{error="MANIFEST_UNKNOWN"} 1`,
		`container_runtime_crio_containers_started_total 1`,
		`container_runtime_crio_containers_oom_total 2`,
		`container_runtime_crio_containers_oom_count_total{name="hog"} 1`,
		`container_runtime_crio_containers_stopped_monitor_count{name="web"} 1`,
		`container_runtime_crio_default_runtime{runtime="runc"} 1`,
		`container_runtime_crio_sandbox_stage_latency_seconds_count{stage="cni_add"} 1`,
		`container_runtime_crio_monitors 3`,
		`# TYPE container_runtime_crio_operations_latency_seconds gauge`,
		`# TYPE container_runtime_crio_processes_defunct gauge`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(body, `name="gone"`) {
		t.Error("the OOM series of a removed container stayed")
	}
	if t.Failed() {
		t.Log(body)
	}
}

// TestCRIODefaultListRegistersEveryMetric: CRI-O's default list selects
// each of CRI-O's metrics with CRI-O's type and labels, and our own stay.
func TestCRIODefaultListRegistersEveryMetric(t *testing.T) {
	m := New(Options{Collectors: CRIOCollectors, Monitors: func() float64 { return 0 }, DefaultRuntime: func() string { return "crun" }})
	// Vectors only appear once they have a series: give each one.
	m.ObserveOperation("/x/Version", time.Millisecond, errors.New("x"))
	m.PullBytes("m", 1, 1, true)
	m.PullSkipped("n", 1)
	m.ImagePull(errors.New("x"), "")
	m.ContainerExited("c", true)
	m.seccompNotified.WithLabelValues("c", "mkdir").Inc()
	m.Stalled("container_creating")
	m.MonitorStopped("c")
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	labels := map[string]string{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetType().String()
		var ls []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			ls = append(ls, l.GetName())
		}
		labels[mf.GetName()] = strings.Join(ls, ",")
	}
	want := map[string]string{
		"image_pulls_layer_size": "HISTOGRAM", "containers_events_dropped_total": "COUNTER",
		"containers_oom_total": "COUNTER", "processes_defunct": "GAUGE", "operations_total": "COUNTER",
		"operations_latency_seconds": "GAUGE", "operations_latency_seconds_total": "SUMMARY",
		"operations_errors_total": "COUNTER", "image_pulls_bytes_total": "COUNTER",
		"image_pulls_skipped_bytes_total": "COUNTER", "image_pulls_failure_total": "COUNTER",
		"image_pulls_success_total": "COUNTER", "image_layer_reuse_total": "COUNTER",
		"containers_oom_count_total": "COUNTER", "containers_seccomp_notifier_count_total": "COUNTER",
		"resources_stalled_at_stage": "COUNTER", "containers_stopped_monitor_count": "COUNTER",
		"default_runtime": "GAUGE",
		// Ours.
		"operations_errors_by_code_total": "COUNTER", "containers_started_total": "COUNTER", "monitors": "GAUGE",
	}
	wantLabels := map[string]string{
		"operations_total": "operation", "operations_latency_seconds": "operation",
		"operations_latency_seconds_total": "operation", "operations_errors_total": "operation",
		"image_pulls_bytes_total": "mediatype,size", "image_pulls_skipped_bytes_total": "size",
		"image_pulls_failure_total": "error", "image_layer_reuse_total": "name",
		"containers_oom_count_total": "name", "containers_seccomp_notifier_count_total": "name,syscall",
		"resources_stalled_at_stage": "stage", "containers_stopped_monitor_count": "name", "default_runtime": "runtime",
		"containers_oom_total": "", "image_pulls_success_total": "", "processes_defunct": "", "image_pulls_layer_size": "",
		"containers_events_dropped_total": "",
	}
	if len(CRIOCollectors) != 18 {
		t.Errorf("CRI-O has 18 collectors, list has %d", len(CRIOCollectors))
	}
	for _, c := range CRIOCollectors {
		if _, ok := want[c]; !ok {
			t.Errorf("collector %s has no expected type", c)
		}
	}
	for n, typ := range want {
		if g := got["container_runtime_crio_"+n]; g != typ {
			t.Errorf("%s: type %q, want %q", n, g, typ)
		}
		if l, ok := wantLabels[n]; ok && labels["container_runtime_crio_"+n] != l {
			t.Errorf("%s: labels %q, want %q", n, labels["container_runtime_crio_"+n], l)
		}
	}
	if got["go_goroutines"] == "" {
		t.Error("go collector not registered with CRI-O's list (CRI-O always serves it)")
	}
}

func TestDefaultAddressIsLoopback(t *testing.T) {
	if got := (ServeOptions{Port: "9090"}).Addr(); got != "127.0.0.1:9090" {
		t.Errorf("default address %s", got)
	}
}

func TestCollectorsSelection(t *testing.T) {
	names := func(list ...string) map[string]bool {
		m := New(Options{Collectors: list, Monitors: func() float64 { return 0 }, DefaultRuntime: func() string { return "runc" }})
		out := map[string]bool{}
		for _, n := range m.Registered() {
			out[n] = true
		}
		return out
	}
	// Our group name: its metrics only, not the Go collector.
	if g := names("operations"); g["go"] || !g["operations_total"] || !g["operations_errors_by_code_total"] || g["image_pulls_success_total"] {
		t.Errorf("operations selects %v", g)
	}
	// CRI-O's prefixed forms, as CRI-O accepts them; our own stay on.
	g := names("crio_operations_total", "container_runtime_crio_default_runtime")
	if !g["operations_total"] || !g["default_runtime"] || g["operations_errors_total"] || !g["go"] || !g["monitors"] {
		t.Errorf("prefixed names select %v", g)
	}
	// Naming one of ours limits ours to it.
	if g := names("operations_total", "monitors"); g["go"] || !g["monitors"] {
		t.Errorf("operations_total,monitors selects %v", g)
	}
	if u := Unknown([]string{"crio_operations_total", "nope", "go"}); len(u) != 1 || u[0] != "nope" {
		t.Errorf("unknown: %v", u)
	}
}

func TestCountDefunct(t *testing.T) {
	dir := t.TempDir()
	for pid, stat := range map[string]string{
		"1": "1 (init) S 0 1", "20": "20 (a b) c)) Z 1 20", "21": "21 (sh) Z 1", "22": "22 (Z) R 1", "self": "x",
	} {
		if err := os.MkdirAll(filepath.Join(dir, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, pid, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := countDefunct(dir); err != nil || n != 2 {
		t.Errorf("countDefunct = %d, %v; want 2", n, err)
	}
}

func TestSizeClass(t *testing.T) {
	for size, want := range map[int64]string{0: ">0 B", 1000: ">0 B", 1001: ">1 KiB", 2e6: ">1 MiB", 11e9: ">10 GiB"} {
		if got := sizeClass(size); got != want {
			t.Errorf("sizeClass(%d) = %q, want %q", size, got, want)
		}
	}
}

func TestConfigDefaultIsCRIOList(t *testing.T) {
	if got := config.Default().Crio.Metrics.MetricsCollectors; !slices.Equal(got, CRIOCollectors) {
		t.Errorf("config default metrics_collectors %v, want CRI-O's %v", got, CRIOCollectors)
	}
}
