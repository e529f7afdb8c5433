package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
	m := New(Options{Monitors: func() float64 { return 3 }})
	unary, stream := m.Interceptors()
	info := &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/ContainerStatus"}
	ok := func(ctx context.Context, req any) (any, error) { return "x", nil }
	bad := func(ctx context.Context, req any) (any, error) { return nil, status.Error(codes.NotFound, "nope") }
	for _, h := range []grpc.UnaryHandler{ok, ok, bad} {
		_, _ = unary(context.Background(), nil, info, h)
	}
	_ = stream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/runtime.v1.RuntimeService/GetContainerEvents"},
		func(any, grpc.ServerStream) error { return nil })
	m.ImagePull(1000, nil)
	m.ImagePull(0, errors.New("boom"))
	m.ContainerStarted()
	m.ContainerExited(true)
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
		`container_runtime_crio_operations_errors_total{error="NotFound",operation="ContainerStatus"} 1`,
		`container_runtime_crio_operations_latency_seconds_count{operation="ContainerStatus"} 3`,
		`container_runtime_crio_image_pulls_bytes_total 1000`,
		`container_runtime_crio_image_pulls_success_total 1`,
		`container_runtime_crio_image_pulls_failure_total{error="Unknown"} 1`,
		`container_runtime_crio_containers_started_total 1`,
		`container_runtime_crio_containers_oom_total 1`,
		`container_runtime_crio_sandbox_stage_latency_seconds_count{stage="cni_add"} 1`,
		`container_runtime_crio_monitors 3`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestDefaultAddressIsLoopback(t *testing.T) {
	if got := (ServeOptions{Port: "9090"}).Addr(); got != "127.0.0.1:9090" {
		t.Errorf("default address %s", got)
	}
}

func TestCollectorsSelection(t *testing.T) {
	m := New(Options{Collectors: []string{"operations"}})
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "go_") {
			t.Errorf("go collector registered: %s", mf.GetName())
		}
	}
}
