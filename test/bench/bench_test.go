// Package bench measures what the issues set targets for. It runs only with
// CRIO_BENCH=1 (make bench) and prints figures; it asserts no timings.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/streaming/client"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

func setup(t *testing.T) (*framework.Daemon, string) {
	d, _, img := setupArgs(t)
	return d, img
}

func setupArgs(t *testing.T, args ...string) (*framework.Daemon, *registry.Registry, string) {
	t.Helper()
	return setupDaemon(t, "", args...)
}

// setupInfo is setup at the default log level (the others' debug level
// logs the stages they read).
func setupInfo(t *testing.T) (*framework.Daemon, string) {
	d, _, img := setupDaemon(t, "[crio.runtime]\nlog_level = \"info\"\n")
	return d, img
}

func setupDaemon(t *testing.T, dropIn string, args ...string) (*framework.Daemon, *registry.Registry, string) {
	t.Helper()
	if os.Getenv("CRIO_BENCH") == "" {
		t.Skip("set CRIO_BENCH=1 (make bench)")
	}
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:bench", registry.Image{})
	// overlay, as on a node: vfs copies the whole image per container.
	// Run dirs on a tmpfs, as /run is on a node; the bare runs get one too.
	d := framework.StartDaemon(t, framework.Options{InsecureRegistries: []string{reg.Addr}, RunTmpfs: true, Args: args, DropIn: "[crio]\nstorage_driver = \"overlay\"\n" + dropIn})
	img := reg.Addr + "/busybox:bench"
	if _, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
		t.Fatal(err)
	}
	return d, reg, img
}

// settle separates the paired runs (ours, bare) of a benchmark.
const settle = 20 * time.Millisecond

type dist []time.Duration

func (d dist) pct(p float64) time.Duration {
	s := append(dist{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func (d dist) String() string {
	return fmt.Sprintf("p50 %v  p99 %v  (n=%d)", d.pct(0.5).Round(time.Microsecond*10), d.pct(0.99).Round(time.Microsecond*10), len(d))
}

func podCfg(i int) *runtimeapi.PodSandboxConfig {
	c := framework.PodConfig(fmt.Sprintf("bench-%d", i))
	return c
}

var cstageRE = regexp.MustCompile(`msg="container stage done" id=\w+ method=(?:Create|Start)Container stage=(\w+) duration=(\S+)`)

var rpcRE = regexp.MustCompile(`msg="request done" id=\w+ method=(CreateContainer|StartContainer) duration=(\S+)`)

var stageRE = regexp.MustCompile(`msg="pod stage done" id=(\w+) method=RunPodSandbox stage=(\w+) duration=(\S+)`)

// TestBenchRunPodSandbox: RunPodSandbox latency, sequential and 10 in
// parallel, with the stage breakdown from the daemon's debug log, against
// the bridge plugin's ADD alone.
func TestBenchRunPodSandbox(t *testing.T) {
	d, _ := setup(t)
	ctx := framework.Ctx(t)
	// Our pods and bare bridge ADDs alternate, so both see the same machine
	// and a bridge with as many ports; a pause between them keeps either's
	// trailing work (the daemon's record of the IPs, the kernel's) out of
	// the other's timing.
	bridgeAdd := bridgeAddAlone(t)
	var seq, bridge dist
	for i := 0; i < 50; i++ {
		start := time.Now()
		if _, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg(i)}); err != nil {
			t.Fatal(err)
		}
		seq = append(seq, time.Since(start))
		time.Sleep(settle)
		bridge = append(bridge, bridgeAdd(i))
		time.Sleep(settle)
	}
	stages := map[string]dist{}
	for _, m := range stageRE.FindAllStringSubmatch(d.Logs(), -1) {
		if v, err := time.ParseDuration(m[3]); err == nil {
			stages[m[2]] = append(stages[m[2]], v)
		}
	}
	var par dist
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			start := time.Now()
			_, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg(100 + i)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			par = append(par, time.Since(start))
		}(i)
	}
	wg.Wait()
	fmt.Printf("RunPodSandbox sequential: %v\n", seq)
	// The rest: each sequential pod's latency minus its two stages (the
	// stages are logged in request order).
	var rest dist
	for i := range seq {
		if i < len(stages["namespaces"]) && i < len(stages["cni_add"]) {
			rest = append(rest, seq[i]-stages["namespaces"][i]-stages["cni_add"][i])
		}
	}
	stages["rest"] = rest
	for _, s := range []string{"namespaces", "cni_add", "rest"} {
		fmt.Printf("  stage %-10s %v\n", s, stages[s])
	}
	fmt.Printf("RunPodSandbox 10 parallel: %v\n", par)
	fmt.Printf("bridge plugin ADD alone:   %v\n", bridge)
	fmt.Printf("ratio p50 RunPodSandbox / bridge ADD: %.2f\n", float64(seq.pct(0.5))/float64(bridge.pct(0.5)))
}

// bridgeAddAlone returns a func that times the bridge plugin's ADD on a
// fresh namespace, the way a runtime calls it, with its own bridge and IPAM
// dir; everything is removed at cleanup.
func bridgeAddAlone(t *testing.T) func(i int) time.Duration {
	dir := t.TempDir()
	// The daemon's network's bridge settings (test/framework), on another bridge.
	conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":"benchbr","type":"bridge","bridge":"crtbench0","isGateway":true,"ipMasq":true,"hairpinMode":true,
"ipam":{"type":"host-local","dataDir":%q,"routes":[{"dst":"0.0.0.0/0"}],"ranges":[[{"subnet":"10.250.0.0/24"}]]}}`, filepath.Join(dir, "ipam"))
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "crtbench0").Run() })
	return func(i int) time.Duration {
		ns := fmt.Sprintf("crtbench%d", i)
		if err := exec.Command("ip", "netns", "add", ns).Run(); err != nil {
			t.Fatal(err)
		}
		env := append(os.Environ(), "CNI_CONTAINERID=bench"+strconv.Itoa(i), "CNI_NETNS=/var/run/netns/"+ns, "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni:/opt/cni/bin")
		t.Cleanup(func() {
			del := exec.Command("/usr/lib/cni/bridge")
			del.Env, del.Stdin = append(env, "CNI_COMMAND=DEL"), strings.NewReader(conf)
			_ = del.Run()
			_ = exec.Command("ip", "netns", "del", ns).Run()
		})
		cmd := exec.Command("/usr/lib/cni/bridge")
		cmd.Env, cmd.Stdin = append(env, "CNI_COMMAND=ADD"), strings.NewReader(conf)
		start := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bridge ADD: %v %s", err, b)
		}
		return time.Since(start)
	}
}

func runPod(t *testing.T, d *framework.Daemon) (string, *runtimeapi.PodSandboxConfig) {
	cfg := podCfg(0)
	cfg.LogDirectory = filepath.Join(d.Dir, "podlogs")
	r, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return r.PodSandboxId, cfg
}

func createStart(ctx context.Context, t *testing.T, d *framework.Daemon, pod string, cfg *runtimeapi.PodSandboxConfig, img string, i int) string {
	c := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("c%d", i)},
		Image:    &runtimeapi.ImageSpec{Image: img},
		Command:  []string{"sleep", "3600"},
		LogPath:  fmt.Sprintf("c%d.log", i),
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}}},
	}
	r, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: c, SandboxConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: r.ContainerId}); err != nil {
		t.Fatal(err)
	}
	return r.ContainerId
}

// TestBenchContainerStart: create+start of 50 containers in one pod, against
// bare `runc create && runc start` of the same bundle, in the same run; then
// the monitors' PSS and ExecSync cost.
func TestBenchContainerStart(t *testing.T) {
	d, reg, img := setupArgs(t)
	ctx := framework.Ctx(t)
	// Images whose first container has no spare layer ready (same layers,
	// distinct configs).
	var fresh []string
	for i := range 10 {
		name := fmt.Sprintf("busybox:fresh%d", i)
		reg.Push(t, name, registry.Image{Labels: map[string]string{"fresh": fmt.Sprint(i)}})
		fresh = append(fresh, reg.Addr+"/"+name)
		if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: fresh[i]}}); err != nil {
			t.Fatal(err)
		}
	}
	pod, cfg := runPod(t, d)
	// One container first, whose bundle the bare runc runs reuse; then ours
	// and bare runc alternate, so both see the same machine.
	ids := []string{createStart(ctx, t, d, pod, cfg, img, 0)}
	bareOne, bareState := bareRunc(t, d, ids[0])
	var ours, bare dist
	for i := 1; i <= 50; i++ {
		start := time.Now()
		ids = append(ids, createStart(ctx, t, d, pod, cfg, img, i))
		ours = append(ours, time.Since(start))
		time.Sleep(settle)
		bare = append(bare, bareOne(i))
		time.Sleep(settle)
	}
	fmt.Printf("create+start (crio):        %v\n", ours)
	cstages := map[string]dist{}
	for _, m := range cstageRE.FindAllStringSubmatch(d.Logs(), -1) {
		if v, err := time.ParseDuration(m[2]); err == nil {
			cstages[m[1]] = append(cstages[m[1]], v)
		}
	}
	for _, s := range []string{"prepare", "rootfs", "spec", "bundle", "runtime_create", "runtime_start"} {
		fmt.Printf("  stage %-15s %v\n", s, cstages[s])
	}
	// In the daemon, from the request's arrival to its answer.
	rpcs := map[string]dist{}
	for _, m := range rpcRE.FindAllStringSubmatch(d.Logs(), -1) {
		if v, err := time.ParseDuration(m[2]); err == nil {
			rpcs[m[1]] = append(rpcs[m[1]], v)
		}
	}
	fmt.Printf("  in the daemon: CreateContainer %v, StartContainer %v\n", rpcs["CreateContainer"], rpcs["StartContainer"])
	fmt.Printf("runc create && start (bare): %v\n", bare)
	fmt.Printf("ratio p50: %.2f  p99: %.2f\n", float64(ours.pct(0.5))/float64(bare.pct(0.5)), float64(ours.pct(0.99))/float64(bare.pct(0.99)))

	// The first container of an image makes its writable layer itself.
	var first, firstBare dist
	for i, img := range fresh {
		time.Sleep(settle)
		start := time.Now()
		ids = append(ids, createStart(ctx, t, d, pod, cfg, img, 100+i))
		first = append(first, time.Since(start))
		time.Sleep(settle)
		firstBare = append(firstBare, bareOne(100+i))
	}
	fmt.Printf("first container of an image (no spare layer): %v; bare %v; ratio p50 %.2f\n", first, firstBare, float64(first.pct(0.5))/float64(firstBare.pct(0.5)))

	var pss []int
	for _, id := range ids[:20] {
		st, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			MonitorPid int `json:"monitorPid"`
		}
		_ = json.Unmarshal([]byte(st.Info["info"]), &info)
		pss = append(pss, pssKiB(t, info.MonitorPid))
	}
	sum := 0
	for _, p := range pss {
		sum += p
	}
	fmt.Printf("conmon-go PSS over 20 running containers: avg %.2f MiB (min %d KiB, max %d KiB)\n", float64(sum)/float64(len(pss))/1024, minOf(pss), maxOf(pss))
	fmt.Printf("idle minimal Go process PSS: %.2f MiB\n", float64(idleGoPSS(t))/1024)
	for _, pid := range d.WaitingMonitors() {
		fmt.Printf("monitor launched ahead, waiting for its config: PSS %.2f MiB\n", float64(pssKiB(t, pid))/1024)
	}

	var execs dist
	cpu0 := cpuTicks(t, d.Pid())
	const n = 50
	for i := 0; i < n; i++ {
		start := time.Now()
		if _, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ids[0], Cmd: []string{"true"}, Timeout: 10}); err != nil {
			t.Fatal(err)
		}
		execs = append(execs, time.Since(start))
	}
	cpu := cpuTicks(t, d.Pid()) - cpu0
	fmt.Printf("ExecSync true: %v; CPU per call (daemon + runc children): %.1f ms\n", execs, float64(cpu)*10/n)
	// The floor: `runc exec` of the same command in a bare container.
	var bareExecs dist
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru0)
	for i := 0; i < n; i++ {
		start := time.Now()
		if b, err := exec.Command("runc", "--root", bareState, "exec", "bare-1", "true").CombinedOutput(); err != nil {
			t.Fatalf("runc exec: %v %s", err, b)
		}
		bareExecs = append(bareExecs, time.Since(start))
	}
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru1)
	bareCPU := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	fmt.Printf("bare runc exec true: %v; CPU per call: %.1f ms\n", bareExecs, float64(bareCPU/n)/1e6)

	// Exec through the streaming server, as kubectl exec does.
	var streamed dist
	for i := 0; i < n; i++ {
		start := time.Now()
		resp, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: ids[0], Cmd: []string{"true"}, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		if code, err := client.Run(ctx, resp.Url, nil, client.Options{Stdout: io.Discard}); err != nil || code != 0 {
			t.Fatalf("streamed exec: %d %v", code, err)
		}
		streamed = append(streamed, time.Since(start))
	}
	fmt.Printf("Exec (streaming, round trip) true: %v\n", streamed)
}

// bareRunc returns a func that times one `runc create && runc start` of a
// copy of container id's bundle (same spec, rootfs and namespaces).
func bareRunc(t *testing.T, d *framework.Daemon, id string) (func(i int) time.Duration, string) {
	st, err := d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Bundle string `json:"bundle"`
	}
	_ = json.Unmarshal([]byte(st.Info["info"]), &info)
	spec, err := os.ReadFile(filepath.Join(info.Bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := tmpfsDir(t)
	state := filepath.Join(root, "state")
	return func(i int) time.Duration {
		bid := fmt.Sprintf("bare-%d", i)
		bundle := filepath.Join(root, bid)
		_ = os.MkdirAll(bundle, 0o755)
		s := strings.Replace(string(spec), "crio-"+id, "crio-"+bid, 1)
		_ = os.WriteFile(filepath.Join(bundle, "config.json"), []byte(s), 0o600)
		// runc init keeps the create's stdio open until start: give it a
		// file, not a pipe, or waiting for the output would never end.
		logf, err := os.Create(filepath.Join(root, bid+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = exec.Command("runc", "--root", state, "delete", "-f", bid).Run() })
		start := time.Now()
		c := exec.Command("runc", "--root", state, "create", "--bundle", bundle, bid)
		c.Stdout, c.Stderr = logf, logf
		err = c.Run()
		logf.Close()
		if err != nil {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("runc create: %v %s", err, b)
		}
		if b, err := exec.Command("runc", "--root", state, "start", bid).CombinedOutput(); err != nil {
			t.Fatalf("runc start: %v %s", err, b)
		}
		return time.Since(start)
	}, state
}

// tmpfsDir is a temporary directory on its own tmpfs, like /run on a node
// (runc's default root is /run/runc).
func tmpfsDir(t *testing.T) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=700"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func pssKiB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	return 0
}

func idleGoPSS(t *testing.T) int {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	_ = os.WriteFile(src, []byte("package main\nimport \"time\"\nfunc main(){ time.Sleep(time.Hour) }\n"), 0o644)
	bin := filepath.Join(dir, "idle")
	if b, err := exec.Command("go", "build", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, b)
	}
	cmd := exec.Command(bin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	return pssKiB(t, cmd.Process.Pid)
}

// cpuTicks is utime+stime+cutime+cstime of pid, in clock ticks (1/100 s).
func cpuTicks(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndex(string(b), ")")+2:])
	sum := 0
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.Atoi(f[i])
		sum += v
	}
	return sum
}

func minOf(v []int) int {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []int) int {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
