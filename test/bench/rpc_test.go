package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// rpcCalls are the cheap calls critest times one at a time: their cost is
// the per-call floor (gRPC transport, interceptors, handler).
func rpcCalls(r runtimeapi.RuntimeServiceClient, i runtimeapi.ImageServiceClient, img, pod, ctr string) []struct {
	name string
	call func(ctx context.Context) error
} {
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ImageStatus", func(ctx context.Context) error {
			_, err := i.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: img}})
			return err
		}},
		{"ListImages", func(ctx context.Context) error {
			_, err := i.ListImages(ctx, &runtimeapi.ListImagesRequest{})
			return err
		}},
		{"ContainerStatus", func(ctx context.Context) error {
			_, err := r.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
			return err
		}},
		{"ContainerStatusV", func(ctx context.Context) error { // verbose, as critest asks
			_, err := r.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr, Verbose: true})
			return err
		}},
		{"PodSandboxStatusV", func(ctx context.Context) error {
			_, err := r.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod, Verbose: true})
			return err
		}},
		{"PodSandboxStatus", func(ctx context.Context) error {
			_, err := r.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
			return err
		}},
		{"ListContainers", func(ctx context.Context) error {
			_, err := r.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
			return err
		}},
		{"ListPodSandbox", func(ctx context.Context) error {
			_, err := r.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
			return err
		}},
		{"Version", func(ctx context.Context) error {
			_, err := r.Version(ctx, &runtimeapi.VersionRequest{})
			return err
		}},
		// What the kubelet polls besides: runtime status (every few
		// seconds), crictl info's verbose form, and the image filesystems.
		{"Status", func(ctx context.Context) error {
			_, err := r.Status(ctx, &runtimeapi.StatusRequest{})
			return err
		}},
		{"StatusV", func(ctx context.Context) error {
			_, err := r.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
			return err
		}},
		{"ImageFsInfo", func(ctx context.Context) error {
			_, err := i.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
			return err
		}},
	}
}

// TestBenchRPCFloor: sequential status and list calls from one client, each
// with its own timeout context as critest's client makes them, at the
// daemon's default log level; per RPC the client's median and the server's
// CPU, read/write syscalls and context switches per call (from /proc).
// Knobs (environment): CRIO_BENCH_CALLS (3000), CRIO_BENCH_RPCS (a regexp
// of the names), CRIO_BENCH_GAP (a pause before each call, e.g. 20ms: the
// server idle, as critest's status calls find it), CRIO_BENCH_PROFILE=dir
// (a 5 s CPU profile of the server per RPC), CRIO_BENCH_REGISTRY=host:port
// (pair.sh's registry: then also critest's image lifecycle and listing
// loops), CRIO_BENCH_ENDPOINT (another runtime instead, see otherFloor),
// CRIO_BENCH_DAEMON_ENV (the daemon's extra environment, e.g. GOMAXPROCS=1).
func TestBenchRPCFloor(t *testing.T) {
	if os.Getenv("CRIO_BENCH") == "" {
		t.Skip("set CRIO_BENCH=1 (make bench)")
	}
	framework.RequireRoot(t)
	if ep := os.Getenv("CRIO_BENCH_ENDPOINT"); ep != "" {
		otherFloor(t, ep)
		return
	}
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:bench", registry.Image{})
	insecure := []string{reg.Addr}
	pairReg := os.Getenv("CRIO_BENCH_REGISTRY")
	if pairReg != "" {
		insecure = append(insecure, pairReg)
	}
	d := framework.StartDaemon(t, framework.Options{InsecureRegistries: insecure, RunTmpfs: true, Env: strings.Fields(os.Getenv("CRIO_BENCH_DAEMON_ENV")),
		Args:   []string{"--enable-profile-unix-socket"},
		DropIn: "[crio]\nstorage_driver = \"overlay\"\n[crio.runtime]\nlog_level = \"info\"\n"})
	img := reg.Addr + "/busybox:bench"
	if _, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
		t.Fatal(err)
	}
	// critest's pod, as otherFloor's: its containers share one PID
	// namespace, so its state depends on an infra process.
	cfg := critestPod(0)
	cfg.LogDirectory = filepath.Join(d.Dir, "podlogs")
	r, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	pod := r.PodSandboxId
	ctr := createStart(framework.Ctx(t), t, d, pod, cfg, img, 0)
	rpcFloor(t, rpcCalls(d.Runtime, d.Image, img, pod, ctr), filepath.Join(filepath.Dir(d.Socket), "crio-profile.sock"), d.Pid())
	if pairReg != "" {
		imageCycles(t, d.Image, pairReg+"/library/busybox:1.35.0-glibc")
		listCycles(t, d.Image)
	}
}

// otherFloor runs the same calls against another runtime's CRI endpoint
// (CRIO_BENCH_ENDPOINT, e.g. pair.sh's containerd, which resolves
// docker.io to the local registry); CRIO_BENCH_PPROF_SOCKET is its pprof
// socket (containerd's debug socket).
func otherFloor(t *testing.T, ep string) {
	pid, _ := strconv.Atoi(os.Getenv("CRIO_BENCH_PID")) // for its CPU and syscalls
	conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, i := runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	ctx := framework.Ctx(t)
	img := "docker.io/library/busybox:1"
	if _, err := i.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
		t.Fatal(err)
	}
	cfg := critestPod(0)
	p, err := r.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = r.StopPodSandbox(context.Background(), &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.PodSandboxId})
		_, _ = r.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.PodSandboxId})
	}()
	c, err := r.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.PodSandboxId, SandboxConfig: cfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c0"},
			Image: &runtimeapi.ImageSpec{Image: img}, Command: []string{"sleep", "3600"}, Linux: &runtimeapi.LinuxContainerConfig{}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		t.Fatal(err)
	}
	rpcFloor(t, rpcCalls(r, i, img, p.PodSandboxId, c.ContainerId), os.Getenv("CRIO_BENCH_PPROF_SOCKET"), pid)
	imageCycles(t, i, "docker.io/library/busybox:1.35.0-glibc")
	listCycles(t, i)
}

// rpcFloor times n sequential calls of each RPC and, with
// CRIO_BENCH_PROFILE=dir and a pprof socket, profiles the server.
func rpcFloor(t *testing.T, calls []struct {
	name string
	call func(ctx context.Context) error
}, pprofSock string, pid int) {
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("CRIO_BENCH_CALLS")); err == nil && v > 0 {
		n = v
	}
	profDir := os.Getenv("CRIO_BENCH_PROFILE")
	only := regexp.MustCompile(os.Getenv("CRIO_BENCH_RPCS")) // e.g. "^ImageStatus$"
	// A gap between calls (CRIO_BENCH_GAP=20ms) leaves the server idle
	// before each, as critest's calls find it after a longer operation.
	gap, _ := time.ParseDuration(os.Getenv("CRIO_BENCH_GAP"))
	if profDir != "" && pprofSock != "" { // what the server does with no calls
		a := readProcStats(pid)
		if err := fetchProfile(pprofSock, "profile?seconds=5", filepath.Join(profDir, "idle.pprof")); err != nil {
			t.Fatal(err)
		}
		b := readProcStats(pid)
		fmt.Printf("idle 5 s: %.1f ms CPU, %d reads, %d writes, %d switches\n", float64(b.cpu-a.cpu)/1e6, b.syscr-a.syscr, b.syscw-a.syscw, b.switches-a.switches)
	}
	for _, c := range calls {
		if !only.MatchString(c.name) {
			continue
		}
		var ds dist
		var before procStats
		for i := 0; i < n+n/10; i++ {
			if i == n/10 {
				before = readProcStats(pid)
			}
			time.Sleep(gap)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			start := time.Now()
			err := c.call(ctx)
			el := time.Since(start)
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if i >= n/10 { // the first tenth warms up
				ds = append(ds, el)
			}
		}
		var sum time.Duration
		for _, x := range ds {
			sum += x
		}
		after := readProcStats(pid)
		fmt.Printf("%-17s median %6.1f µs  mean %6.1f µs  p90 %6.1f µs  (n=%d)  %s\n", c.name,
			us(ds.pct(0.5)), us(sum/time.Duration(len(ds))), us(ds.pct(0.9)), len(ds), perCall(before, after, len(ds)))
		if profDir != "" && pprofSock != "" {
			profileCalls(t, pprofSock, filepath.Join(profDir, c.name+".pprof"), c.call, gap)
		}
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// profileCalls makes calls for 5 s while the daemon writes a CPU profile
// of them to file, and prints how many calls it covers.
func profileCalls(t *testing.T, sock, file string, call func(context.Context) error, gap time.Duration) {
	done := make(chan error, 1)
	go func() { done <- fetchProfile(sock, "profile?seconds=5", file) }()
	time.Sleep(100 * time.Millisecond) // the profile has started
	calls := 0
	for end := time.Now().Add(4800 * time.Millisecond); time.Now().Before(end); calls++ {
		time.Sleep(gap)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := call(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fmt.Printf("  profile %s: %d calls\n", file, calls)
}

// fetchProfile writes what /debug/pprof/<what> serves on sock to file.
func fetchProfile(sock, what, file string) error {
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://x/debug/pprof/" + what)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// procStats are a process's counters: CPU time (ns, all threads), read
// and write syscalls, context switches (all threads).
type procStats struct{ cpu, syscr, syscw, switches int64 }

func readProcStats(pid int) procStats {
	var s procStats
	if pid <= 0 {
		return s
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "syscr: "); ok {
				s.syscr, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(l, "syscw: "); ok {
				s.syscw, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		if b, err := os.ReadFile(task + "/schedstat"); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				s.cpu += v
			}
		}
		if b, err := os.ReadFile(task + "/status"); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
					n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					s.switches += n
				}
			}
		}
	}
	return s
}

// perCall formats the server's counters per call between two readings.
func perCall(a, b procStats, n int) string {
	f := float64(n)
	return fmt.Sprintf("server: %5.1f µs CPU, %.2f reads, %.2f writes, %.2f switches per call",
		float64(b.cpu-a.cpu)/f/1e3, float64(b.syscr-a.syscr)/f, float64(b.syscw-a.syscw)/f, float64(b.switches-a.switches)/f)
}

// imageCycles times ImageStatus right after each PullImage of img, then
// removes it, as critest's image lifecycle benchmark does: the status call
// meets whatever the pull and the previous remove left running.
func imageCycles(t *testing.T, i runtimeapi.ImageServiceClient, img string) {
	const n = 30
	var pulls, stats, removes dist
	spec := &runtimeapi.ImageSpec{Image: img}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		start := time.Now()
		_, err := i.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec})
		pulls = append(pulls, time.Since(start))
		if err == nil {
			start = time.Now()
			_, err = i.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec})
			stats = append(stats, time.Since(start))
		}
		if err == nil {
			start = time.Now()
			_, err = i.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec})
			removes = append(removes, time.Since(start))
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("image cycles (n=%d) median: PullImage %6.1f µs  ImageStatus %6.1f µs  RemoveImage %6.1f µs\n",
		n, us(pulls.pct(0.5)), us(stats.pct(0.5)), us(removes.pct(0.5)))
}

// listCycles times 30 ListImages in a row right after imageCycles, as
// critest's image listing benchmark runs right after its image lifecycle
// one (whose last RemoveImage, and its AfterEach's, have just answered)
// and lists what is there: it pulls nothing.
func listCycles(t *testing.T, i runtimeapi.ImageServiceClient) {
	ctx := framework.Ctx(t)
	var ds dist
	for range 30 {
		start := time.Now()
		if _, err := i.ListImages(ctx, &runtimeapi.ListImagesRequest{}); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	fmt.Printf("ListImages right after the image cycles (n=30): median %6.1f µs, p90 %6.1f µs\n", us(ds.pct(0.5)), us(ds.pct(0.9)))
}
