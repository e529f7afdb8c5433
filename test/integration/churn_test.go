package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/streaming/client"
	"github.com/crio-runtime/crio/internal/syncbuf"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestChurnLeavesNothing runs what a kubelet does to a node all day (pods
// with host ports, containers that run, exit and fail, execs, stats, log
// reopens, resource updates, port forwards, an open events stream) cycle after cycle from two workers at
// once, removes everything, and checks the node and the daemon are back
// where they started: no mount, namespace pin, IP, NAT rule, veth, storage
// record, state record, exit record, process or cgroup of a removed pod or
// container, and the daemon's descriptors and goroutines do not grow with
// the cycles. CRIO_CHURN_CYCLES sets the cycles per worker (a soak: the
// daemon's memory is logged every 50), CRIO_CHURN_WORKERS the workers.
func TestChurnLeavesNothing(t *testing.T) {
	cycles, workers := 6, 2
	if v, err := strconv.Atoi(os.Getenv("CRIO_CHURN_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	if v, err := strconv.Atoi(os.Getenv("CRIO_CHURN_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	e := newEnvWith(t, registry.Image{}, framework.Options{
		Args:   []string{"--enable-profile-unix-socket"},
		DropIn: "[crio]\nstorage_driver = \"overlay\"\n",
	})
	ctx, cancel := context.WithCancel(context.Background()) // a soak outlives framework.Ctx
	defer cancel()
	events, err := e.d.Runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var seen sync.WaitGroup
	seen.Add(1)
	go func() {
		defer seen.Done()
		for {
			if _, err := events.Recv(); err != nil {
				return
			}
		}
	}()

	c := &churn{e: e, ports: 20000 + int(time.Now().UnixNano()%20000)}
	// A warm-up cycle first: what the daemon makes once and keeps (the
	// streaming server's listener, a monitor launched ahead, a spare layer,
	// caches) is in the baseline.
	if err := c.cycle(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	base := c.settled(t, func(n map[string]int) bool { return n["runtime containers"] == 0 })
	baseFDs, baseG := c.daemonFDs(t), c.mustGoroutines(t)
	t.Logf("baseline: %d fds, %d goroutines, %d KiB RSS", baseFDs, baseG, c.rss())

	start := time.Now()
	var wg sync.WaitGroup
	for w := 1; w <= workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= cycles; i++ {
				if err := c.cycle(ctx, w, i); err != nil {
					t.Errorf("worker %d cycle %d: %v", w, i, err)
					return
				}
				if w == 1 && i%50 == 0 {
					n, _ := c.goroutines()
					t.Logf("%d cycles: %d KiB RSS, %d goroutines", i, c.rss(), n)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d cycles x %d workers in %v", cycles, workers, time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		return
	}

	// Fewer is fine: what is made ahead (a spare layer and its mount, a
	// monitor) may be in use or not yet made again when the last pod goes.
	after := c.settled(t, func(n map[string]int) bool { return noMore(base, n) })
	for k, v := range base {
		if after[k] > v {
			t.Errorf("%s: %d at the start, %d after %d cycles", k, v, after[k], workers*cycles)
		}
	}
	// Descriptors and goroutines come and go with requests; a leak grows
	// with the cycles, so allow a few but not one per cycle.
	fds, gs := c.daemonFDs(t), c.mustGoroutines(t)
	for i := 0; i < 50 && (fds > baseFDs+2 || gs > baseG+4); i++ {
		time.Sleep(100 * time.Millisecond)
		fds, gs = c.daemonFDs(t), c.mustGoroutines(t)
	}
	t.Logf("after: %d fds, %d goroutines, %d KiB RSS", fds, gs, c.rss())
	if fds > baseFDs+2 {
		t.Errorf("daemon descriptors: %d at the start, %d after %d cycles:\n%s", baseFDs, fds, workers*cycles, c.fdList(t))
	}
	if gs > baseG+4 {
		dump, _ := c.profile("goroutine?debug=1")
		t.Errorf("daemon goroutines: %d at the start, %d after %d cycles:\n%s", baseG, gs, workers*cycles, dump)
	}
	cancel()
	seen.Wait()
}

type churn struct {
	e     *env
	ports int

	mu  sync.Mutex
	ids []string // every pod and container made
}

func (c *churn) made(ids ...string) {
	c.mu.Lock()
	c.ids = append(c.ids, ids...)
	c.mu.Unlock()
}

// cycle is one pod's life as a kubelet drives it.
func (c *churn) cycle(ctx context.Context, w, i int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rt := c.e.d.Runtime
	name := fmt.Sprintf("churn-%d-%d", w, i)
	cfg := framework.PodConfig(name)
	if i%2 == 0 { // every other pod shares one PID namespace: it has an infra process
		cfg = sharedPIDPod(name)
	}
	cfg.LogDirectory = filepath.Join(c.e.d.Dir, "podlogs", name)
	cfg.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 8080, HostPort: int32(c.ports + w), Protocol: runtimeapi.Protocol_TCP}}
	pod, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return fmt.Errorf("run pod: %w", err)
	}
	c.made(pod.PodSandboxId)
	create := func(cname string, cmd ...string) (string, error) {
		r, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod.PodSandboxId, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: cname}, Image: &runtimeapi.ImageSpec{Image: c.e.image},
			Command: cmd, LogPath: cname + ".log",
		}})
		if err != nil {
			return "", fmt.Errorf("create %s: %w", cname, err)
		}
		c.made(r.ContainerId)
		return r.ContainerId, nil
	}

	app, err := create("app", "sh", "-c", "echo up; exec sleep 600")
	if err != nil {
		return err
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: app}); err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	if r, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: app, Cmd: []string{"echo", "probe"}, Timeout: 10}); err != nil || string(r.Stdout) != "probe\n" {
		return fmt.Errorf("exec sync: %v %v", r, err)
	}
	ex, err := rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: app, Cmd: []string{"sh", "-c", "cat; echo done"}, Stdin: true, Stdout: true})
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	var out syncbuf.Buffer
	if code, err := client.Run(ctx, ex.Url, nil, client.Options{Stdin: strings.NewReader("in\n"), Stdout: &out}); err != nil || code != 0 || out.String() != "in\ndone\n" {
		return fmt.Errorf("exec stream: code %d err %v out %q", code, err, out.String())
	}
	if _, err := rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: app}); err != nil {
		return fmt.Errorf("container stats: %w", err)
	}
	if _, err := rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pod.PodSandboxId}); err != nil {
		return fmt.Errorf("pod stats: %w", err)
	}
	if _, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod.PodSandboxId, Verbose: true}); err != nil {
		return fmt.Errorf("pod status: %w", err)
	}
	if _, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: app, Verbose: true}); err != nil {
		return fmt.Errorf("container status: %w", err)
	}
	if _, err := rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: app}); err != nil {
		return fmt.Errorf("reopen log: %w", err)
	}
	if _, err := rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: app,
		Linux: &runtimeapi.LinuxContainerResources{CpuShares: 512, MemoryLimitInBytes: 64 << 20}}); err != nil {
		return fmt.Errorf("update resources: %w", err)
	}
	if _, err := rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{}); err != nil {
		return fmt.Errorf("list container stats: %w", err)
	}
	if _, err := rt.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{}); err != nil {
		return fmt.Errorf("list pod stats: %w", err)
	}
	if err := c.portForward(ctx, pod.PodSandboxId); err != nil {
		return err
	}

	// A container that exits on its own keeps its code.
	job, err := create("job", "sh", "-c", "exit 3")
	if err != nil {
		return err
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: job}); err != nil {
		return fmt.Errorf("start job: %w", err)
	}
	for k := 0; ; k++ {
		st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: job})
		if err != nil {
			return fmt.Errorf("job status: %w", err)
		}
		if st.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			if st.Status.ExitCode != 3 {
				return fmt.Errorf("job exit code %d, want 3", st.Status.ExitCode)
			}
			break
		}
		if k == 300 {
			return fmt.Errorf("job never exited: %v", st.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A container whose command does not exist fails to start.
	if bad, err := create("bad", "/no/such/command"); err == nil {
		if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: bad}); err == nil {
			return fmt.Errorf("start of a missing command succeeded")
		}
	}

	if _, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: app, Timeout: 1}); err != nil {
		return fmt.Errorf("stop app: %w", err)
	}
	if _, err := rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: job}); err != nil {
		return fmt.Errorf("remove job: %w", err)
	}
	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod.PodSandboxId}); err != nil {
		return fmt.Errorf("stop pod: %w", err)
	}
	// The pod's removal removes the containers left in it (app, bad).
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod.PodSandboxId}); err != nil {
		return fmt.Errorf("remove pod: %w", err)
	}
	return nil
}

// portForward answers one forwarded connection from a listener in the
// pod's network namespace.
func (c *churn) portForward(ctx context.Context, podID string) error {
	var l net.Listener
	if err := framework.InNetNS(netnsPath(c.e.d, podID), func() (err error) {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		return err
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		b, _ := io.ReadAll(conn)
		_, _ = conn.Write(b)
	}()
	port := l.Addr().(*net.TCPAddr).Port
	resp, err := c.e.d.Runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: podID, Port: []int32{int32(port)}})
	if err != nil {
		return fmt.Errorf("port forward: %w", err)
	}
	pf, err := client.DialPortForward(ctx, resp.Url, nil)
	if err != nil {
		return fmt.Errorf("port forward dial: %w", err)
	}
	defer pf.Close()
	if got, err := roundTrip(pf, port, "ping"); err != nil || got != "ping" {
		return fmt.Errorf("port forward: %q %v", got, err)
	}
	return nil
}

// node counts what pods and containers leave on the node and in the
// daemon's directories.
func (c *churn) node(t *testing.T) map[string]int {
	t.Helper()
	d := c.e.d
	out := map[string]int{
		"mounts under the daemon's dirs": len(framework.MountsUnder(d.Dir)),
		"exit records":                   countDir(filepath.Join(d.Dir, "exits")),
		"pod records":                    countDir(filepath.Join(d.Dir, "state", "pods")),
		"container records":              countDir(filepath.Join(d.Dir, "state", "containers")),
		"runtime containers":             len(runcList(t, d)),
		"storage containers":             countJSON(filepath.Join(d.Dir, "storage", "overlay-containers", "containers.json")),
		"storage layers":                 countJSON(filepath.Join(d.Dir, "storage", "overlay-layers", "layers.json")),
		"run dirs":                       countDir(filepath.Join(d.Dir, "run")),
		"storage run dirs":               countDir(filepath.Join(d.Dir, "run", "storage", "overlay-containers")),
		"IP allocations":                 len(allocatedIPs(d)),
		"NAT rules of the network":       natRules(t, d.Network()),
		"veths on the bridge":            countDir(filepath.Join("/sys/class/net", d.Bridge, "brif")),
	}
	for _, kind := range []string{"netns", "ipcns", "utsns", "pidns"} {
		out[kind+" pins"] = countDir(filepath.Join(d.NamespacesDir(), kind))
	}
	c.mu.Lock()
	ids := append([]string(nil), c.ids...)
	c.mu.Unlock()
	out["processes and cgroups of removed pods and containers"] = ownedProcs(ids) + len(ownedCgroups(ids))
	out["monitors of this daemon"] = monitorProcs(d.Dir)
	return out
}

// settled waits up to 30 s for the node to be done and to stay the same
// for a second: removals answer before their background reaps.
func (c *churn) settled(t *testing.T, done func(map[string]int) bool) map[string]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	n, same := c.node(t), 0
	for (!done(n) || same < 5) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		next := c.node(t)
		if sameNode(n, next) {
			same++
		} else {
			same = 0
		}
		n = next
	}
	return n
}

func sameNode(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// noMore says whether b has nothing more than a.
func noMore(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] > v {
			return false
		}
	}
	return true
}

func countDir(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

// countJSON counts the records of a containers/storage JSON list.
func countJSON(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), `"id":`)
}

// natRules counts the NAT rules whose comment names the network (bridge
// masquerade and portmap's DNAT chains both do).
func natRules(t *testing.T, network string) int {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	return strings.Count(string(out), `"`+network+`"`)
}

// ownedProcs counts processes in a cgroup named after one of ids.
func ownedProcs(ids []string) int {
	return len(procsWhere("cgroup", func(cg string) bool {
		return slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(cg, id) })
	}))
}

func ownedCgroups(ids []string) []string {
	var out []string
	for _, id := range ids {
		for _, pat := range []string{"/sys/fs/cgroup/*/crio-", "/sys/fs/cgroup/*/*/crio-", "/sys/fs/cgroup/*/*/*/crio-"} {
			out = append(out, globAll(pat+id+"*")...)
		}
	}
	return out
}

// monitorProcs counts conmon-go processes working under dir.
func monitorProcs(dir string) int {
	return len(procsWhere("cmdline", func(cmd string) bool {
		return strings.Contains(cmd, "conmon-go") && strings.Contains(cmd, dir)
	}))
}

func (c *churn) daemonFDs(t *testing.T) int {
	t.Helper()
	return countDir(fmt.Sprintf("/proc/%d/fd", c.e.d.Pid()))
}

func (c *churn) fdList(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	dir := fmt.Sprintf("/proc/%d/fd", c.e.d.Pid())
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", e.Name(), l)
	}
	return b.String()
}

func (c *churn) rss() int {
	v, _ := strconv.Atoi(strings.Fields(procField(c.e.d.Pid(), "VmRSS") + " 0")[0])
	return v
}

// goroutines reads the daemon's goroutine count from its profile socket.
func (c *churn) goroutines() (int, error) {
	body, err := c.profile("goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(body, "\n")
	return strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
}

func (c *churn) mustGoroutines(t *testing.T) int {
	t.Helper()
	n, err := c.goroutines()
	if err != nil {
		t.Fatalf("goroutine profile: %v", err)
	}
	return n
}

func (c *churn) profile(page string) (string, error) {
	sock := filepath.Join(filepath.Dir(c.e.d.Socket), "crio-profile.sock")
	// No keep-alive: an idle connection would count as the daemon's.
	hc := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://crio/debug/pprof/" + page)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
