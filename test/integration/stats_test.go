package integration

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// These tests need the daemon wired with initObservability (server.New),
// ObservabilityInterceptors (cmd/crio) and observeImagePull (PullImage).

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s never happened; last: %s", what, last)
}

func TestContainerStatsRiseWithCPUAndMemory(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "burn")
	// 32 MiB in the pod's /dev/shm (shmem counts in the working set) and
	// 16 MB held by the shell, then a busy loop.
	id := e.create(t, podID, podCfg, "burner", "sh", "-c",
		`dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=32 2>/dev/null; a=$(head -c 16000000 /dev/zero | tr '\0' a); while :; do :; done`)
	e.start(t, id)
	ctx := framework.Ctx(t)
	get := func() *runtimeapi.ContainerStats {
		r, err := e.d.Runtime.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: id})
		if err != nil {
			t.Fatalf("ContainerStats: %v", err)
		}
		return r.Stats
	}
	first := get()
	if first.GetAttributes().GetId() != id || first.GetAttributes().GetMetadata().GetName() != "burner" {
		t.Fatalf("attributes: %+v", first.GetAttributes())
	}
	var last *runtimeapi.ContainerStats
	waitFor(t, "CPU and memory to rise", func() (bool, string) {
		last = get()
		cpu, mem := last.GetCpu(), last.GetMemory()
		ok := cpu.GetUsageCoreNanoSeconds().GetValue() > first.GetCpu().GetUsageCoreNanoSeconds().GetValue()+5e8 &&
			cpu.GetUsageNanoCores().GetValue() > 0 && mem.GetWorkingSetBytes().GetValue() > 40<<20
		return ok, fmt.Sprintf("cpu %v mem %v", cpu, mem)
	})
	mem := last.GetMemory()
	if mem.GetUsageBytes().GetValue() < mem.GetWorkingSetBytes().GetValue() || mem.GetAvailableBytes() == nil || mem.GetTimestamp() == 0 {
		t.Errorf("memory: %+v", mem)
	}
	if wl := last.GetWritableLayer(); wl.GetTimestamp() == 0 || wl.GetFsId().GetMountpoint() == "" || wl.GetInodesUsed().GetValue() == 0 {
		t.Errorf("writable layer: %+v", wl)
	}
	// List filters: by pod, by label, by id prefix; a wrong label matches nothing.
	for _, f := range []*runtimeapi.ContainerStatsFilter{
		{PodSandboxId: podID}, {LabelSelector: map[string]string{"c": "burner"}}, {Id: id[:12]},
	} {
		l, err := e.d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: f})
		if err != nil || len(l.Stats) != 1 || l.Stats[0].GetAttributes().GetId() != id {
			t.Errorf("list %+v: %v %d", f, err, len(l.GetStats()))
		}
	}
	l, err := e.d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{LabelSelector: map[string]string{"c": "other"}}})
	if err != nil || len(l.Stats) != 0 {
		t.Errorf("list with other label: %v %d", err, len(l.GetStats()))
	}
	// The pod adds up its containers and reports processes.
	ps, err := e.d.Runtime.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatal(err)
	}
	lin := ps.Stats.GetLinux()
	if lin.GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 || lin.GetMemory().GetWorkingSetBytes().GetValue() == 0 ||
		lin.GetProcess().GetProcessCount().GetValue() == 0 || len(lin.GetContainers()) != 1 {
		t.Errorf("pod stats: %+v", lin)
	}
}

// allPodMetrics reports every ListPodSandboxMetrics group (the default
// reports only container_last_seen, as in CRI-O).
const allPodMetrics = "[crio.stats]\nincluded_pod_metrics = [\"all\"]\n"

func TestPodNetworkStatsCountBytes(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{DropIn: allPodMetrics})
	podID, _ := runPod(t, d, framework.PodConfig("net"))
	ctx := framework.Ctx(t)
	tx := func() uint64 {
		r, err := d.Runtime.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: podID})
		if err != nil {
			t.Fatal(err)
		}
		n := r.Stats.GetLinux().GetNetwork()
		if n.GetDefaultInterface().GetName() != "eth0" {
			t.Fatalf("network stats: %+v", n)
		}
		return n.GetDefaultInterface().GetTxBytes().GetValue()
	}
	before := tx()
	// Send 1 MiB of UDP from inside the pod to its gateway (the bridge).
	_, subnet, err := net.ParseCIDR(d.Subnet)
	if err != nil {
		t.Fatal(err)
	}
	gw := subnet.IP.To4()
	gw[3] = 1
	const total = 1 << 20
	if err := framework.InNetNS(netnsPath(d, podID), func() error {
		c, err := net.Dial("udp", net.JoinHostPort(gw.String(), "9"))
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 1024)
		for range total / len(buf) {
			_, _ = c.Write(buf) // ICMP unreachable replies may fail a write; the bytes still left
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tx bytes to count the traffic", func() (bool, string) {
		got := tx()
		return got >= before+total, fmt.Sprintf("before %d now %d", before, got)
	})
	l, err := d.Runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"app": "net"}}})
	if err != nil || len(l.Stats) != 1 || l.Stats[0].GetAttributes().GetId() != podID {
		t.Errorf("list pod stats by label: %v %+v", err, l)
	}
	m, err := d.Runtime.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pm := range m.PodMetrics {
		for _, x := range pm.Metrics {
			if pm.PodSandboxId == podID && x.Name == "container_network_transmit_bytes_total" && x.Value.GetValue() >= total {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no transmit bytes metric for the pod: %+v", m.PodMetrics)
	}
}

// eventLog collects the events of one GetContainerEvents stream.
type eventLog struct {
	mu     sync.Mutex
	events []*runtimeapi.ContainerEventResponse
}

func subscribe(t *testing.T, d *framework.Daemon) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := d.Runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The daemon sends headers once the subscription is registered.
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	l := &eventLog{}
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *eventLog) typesOf(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.events {
		if ev.ContainerId == id {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(ev.ContainerEventType.String(), "CONTAINER_"), "_EVENT"))
		}
	}
	return out
}

func (l *eventLog) waitTypes(t *testing.T, id string, want ...string) {
	t.Helper()
	waitFor(t, "events "+strings.Join(want, ","), func() (bool, string) {
		got := l.typesOf(id)
		return strings.Join(got, ",") == strings.Join(want, ","), strings.Join(got, ",")
	})
}

func TestContainerEventsInOrderAcrossRestart(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "events")
	ev := subscribe(t, e.d)
	ctx := framework.Ctx(t)

	id := e.create(t, podID, podCfg, "short", "sleep", "1000")
	e.start(t, id)
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	ev.waitTypes(t, id, "CREATED", "STARTED", "STOPPED", "DELETED")
	ev.mu.Lock()
	for _, x := range ev.events {
		if x.ContainerId == id && (x.PodSandboxStatus.GetId() != podID || x.CreatedAt == 0) {
			t.Errorf("event without pod status or time: %+v", x)
		}
		if x.ContainerId == id && x.ContainerEventType == runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT &&
			(len(x.ContainersStatuses) != 1 || x.ContainersStatuses[0].State != runtimeapi.ContainerState_CONTAINER_RUNNING) {
			t.Errorf("STARTED event statuses: %+v", x.ContainersStatuses)
		}
	}
	ev.mu.Unlock()

	// A container that outlives the daemon and exits after the restart
	// still produces STOPPED for the new daemon's subscribers.
	wait := e.create(t, podID, podCfg, "waiter", "sh", "-c", "while [ ! -f /tmp/go ]; do sleep 0.2; done")
	e.start(t, wait)
	// The exit code is not checked: shutting down with a running
	// container is not this test's concern.
	e.d.Signal(syscall.SIGTERM)
	e.d.Wait(30 * time.Second)
	e.d.Start()
	ev2 := subscribe(t, e.d)
	ctx = framework.Ctx(t)
	if _, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: wait, Cmd: []string{"touch", "/tmp/go"}, Timeout: 10}); err != nil {
		t.Fatal(err)
	}
	ev2.waitTypes(t, wait, "STOPPED")
}

func TestSlowEventsSubscriberDoesNotDelayRPCs(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "slow")
	// Subscribers that never read: their buffers fill and events drop.
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		stream, err := e.d.Runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Header(); err != nil {
			t.Fatal(err)
		}
	}
	reader := subscribe(t, e.d)
	ctx := framework.Ctx(t)
	var ids []string
	for i := range 10 {
		id := e.create(t, podID, podCfg, "c"+strconv.Itoa(i), "true")
		e.start(t, id)
		e.waitExited(t, id)
		if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		reader.waitTypes(t, id, "CREATED", "STARTED", "STOPPED", "DELETED")
	}
}

// freePort returns a free TCP port below Linux's ephemeral range (32768+),
// never the same one twice in a run: a port from the ephemeral range,
// closed again, can be handed to any port-0 listener before the daemon
// binds it (a daemon's own streaming server took one that way).
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := 20000 + mrand.IntN(12000)
		if portsGiven[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatal("no free port below 32768")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func TestMetricsEndpointServesNamedSeries(t *testing.T) {
	framework.RequireRoot(t)
	port := freePort(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", registry.Image{})
	d := framework.StartDaemon(t, framework.Options{
		InsecureRegistries: []string{reg.Addr},
		Config:             fmt.Sprintf("\n[crio.metrics]\nenable_metrics = true\nmetrics_port = %d\n", port),
	})
	ctx := framework.Ctx(t)
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: reg.Addr + "/busybox:test"}}); err != nil {
		t.Fatal(err)
	}
	_, _ = d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "nope"})
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`container_runtime_crio_operations_total{operation="PullImage"} 1`,
		`container_runtime_crio_operations_latency_seconds_total_count{operation="PullImage"} 1`,
		`container_runtime_crio_operations_errors_total{operation="ContainerStatus"} 1`,
		`container_runtime_crio_operations_errors_by_code_total{error="NotFound",operation="ContainerStatus"} 1`,
		`container_runtime_crio_image_pulls_success_total 1`,
		`container_runtime_crio_image_pulls_bytes_total{`,
		`container_runtime_crio_containers_oom_total 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestBenchListContainerStats prints ListContainerStats latency with 100
// running containers and the daemon's idle CPU. Run with CRIO_BENCH=1.
func TestBenchListContainerStats(t *testing.T) {
	if os.Getenv("CRIO_BENCH") == "" {
		t.Skip("set CRIO_BENCH=1 to run the stats benchmark")
	}
	n := 100
	if v, err := strconv.Atoi(os.Getenv("CRIO_BENCH_CONTAINERS")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "bench")
	for i := range n {
		id := e.create(t, podID, podCfg, "b"+strconv.Itoa(i), "sleep", "100000")
		e.start(t, id)
	}
	ctx := framework.Ctx(t)
	var lat []time.Duration
	for i := range 200 {
		start := time.Now()
		r, err := e.d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
		if err != nil || len(r.Stats) != n {
			t.Fatalf("list: %v (%d stats)", err, len(r.GetStats()))
		}
		lat = append(lat, time.Since(start))
		if i%20 == 0 {
			time.Sleep(1100 * time.Millisecond) // let cached samples age: measure cold reads too
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("ListContainerStats with %d containers: p50 %s p90 %s p99 %s max %s", n, pct(.5), pct(.9), pct(.99), lat[len(lat)-1])

	pid := daemonPid(t, e.d)
	idle := 20 * time.Second
	before := procCPU(t, pid)
	time.Sleep(idle)
	used := procCPU(t, pid) - before
	t.Logf("daemon CPU while idle with %d containers: %.2f%% of one core over %s", n, 100*used.Seconds()/idle.Seconds(), idle)
}

// daemonPid finds the crio listening on the daemon's socket.
func daemonPid(t *testing.T, d *framework.Daemon) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		if strings.Contains(string(cmd), d.ConfigFile) && strings.HasSuffix(strings.Split(string(cmd), "\x00")[0], "crio") {
			return pid
		}
	}
	t.Fatal("daemon process not found")
	return 0
}

// procCPU is user+system time of a process (USER_HZ = 100).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// TestPodSandboxMetricsReportCAdvisorSeries checks the cAdvisor-style
// container series against what the container really is and does: its
// configured limits, its listening socket, its threads, and that every
// series carries the label keys its descriptor lists.
func TestPodSandboxMetricsReportCAdvisorSeries(t *testing.T) {
	e := newEnvWith(t, registry.Image{}, framework.Options{DropIn: allPodMetrics})
	podID, podCfg := e.pod(t, "metrics")
	before := time.Now().Unix()
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "server"},
		Command:  []string{"sh", "-c", "nc -l -p 9000 & exec sleep 3600"},
		LogPath:  "server.log",
		Linux: &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
			CpuPeriod: 100000, CpuQuota: 20000, CpuShares: 512,
			MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: 64 << 20,
		}},
	})
	ctx := framework.Ctx(t)
	descs, err := e.d.Runtime.ListMetricDescriptors(ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, d := range descs.Descriptors {
		keys[d.Name] = len(d.LabelKeys)
	}
	var byName map[string][]*runtimeapi.Metric
	waitFor(t, "the listening socket to be counted", func() (bool, string) {
		m, err := e.d.Runtime.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		byName = map[string][]*runtimeapi.Metric{}
		for _, pm := range m.PodMetrics {
			for _, cm := range pm.ContainerMetrics {
				if cm.ContainerId != id {
					continue
				}
				for _, x := range cm.Metrics {
					byName[x.Name] = append(byName[x.Name], x)
				}
			}
		}
		s := byName["container_sockets"]
		return len(s) == 1 && s[0].Value.GetValue() >= 1, fmt.Sprintf("%v", s)
	})
	for name, ms := range byName {
		for _, x := range ms {
			if want, ok := keys[name]; !ok || len(x.LabelValues) != want || x.LabelValues[0] != id {
				t.Errorf("%s labels %v, descriptor has %d keys (described: %v)", name, x.LabelValues, want, ok)
			}
		}
	}
	val := func(name string) uint64 {
		if len(byName[name]) == 0 {
			t.Errorf("no %s", name)
			return 0
		}
		return byName[name][0].Value.GetValue()
	}
	for name, want := range map[string]uint64{
		"container_spec_cpu_period": 100000, "container_spec_cpu_shares": 512,
		"container_spec_memory_swap_limit_bytes": 64 << 20, "container_spec_memory_limit_bytes": 64 << 20,
	} {
		if got := val(name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	// sh exec'd into sleep, plus nc: two processes, each one thread with
	// at least stdin/stdout/stderr open.
	if n := val("container_threads"); n < 2 {
		t.Errorf("threads %d", n)
	}
	if n := val("container_file_descriptors"); n < 6 {
		t.Errorf("file descriptors %d", n)
	}
	if st := val("container_start_time_seconds"); st < uint64(before) || st > uint64(time.Now().Unix()) {
		t.Errorf("start time %d not after %d", st, before)
	}
	if val("container_last_seen") < uint64(before) || val("container_fs_limit_bytes") == 0 || val("container_fs_inodes_total") == 0 {
		t.Errorf("last seen / fs limit / inodes in use: %v %v %v", byName["container_last_seen"], byName["container_fs_limit_bytes"], byName["container_fs_inodes_total"])
	}
	if n := len(byName["container_memory_failures_total"]); n != 4 {
		t.Errorf("memory failure series: %d", n)
	}
	for _, name := range []string{"container_cpu_cfs_periods_total", "container_memory_max_usage_bytes", "container_oom_events_total", "container_memory_failcnt"} {
		val(name)
	}
}
