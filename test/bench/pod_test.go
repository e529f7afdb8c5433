package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// pairChain is the CNI chain ../shared/bench/pair.sh gives both runtimes
// (bridge without masquerade + host-local, portmap, loopback), on bridge br.
func pairChain(name, br, subnet, ipam string, portmap bool) string {
	pm := ""
	if portmap {
		pm = `{"type": "portmap", "capabilities": {"portMappings": true}},`
	}
	return fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  %s
  {"type": "loopback"}]}`, name, br, ipam, subnet, pm)
}

// critestPod is the pod critest's benchmarks run: no namespace options,
// so its containers share one PID namespace and the pod has an infra
// process.
func critestPod(i int) *runtimeapi.PodSandboxConfig {
	c := podCfg(i)
	c.Linux = &runtimeapi.LinuxPodSandboxConfig{}
	return c
}

// pairDaemon is a daemon networked as pair.sh's (its conflist sorts first).
func pairDaemon(t *testing.T) (*framework.Daemon, string, string) {
	if os.Getenv("CRIO_BENCH") == "" {
		t.Skip("set CRIO_BENCH=1 (make bench)")
	}
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:bench", registry.Image{})
	var args []string
	if os.Getenv("CRIO_BENCH_PROFILE") != "" {
		// pprof on crio-profile.sock in the daemon's dir, for a trace taken by hand.
		args = []string{"--enable-profile-unix-socket"}
	}
	d := framework.NewDaemon(t, framework.Options{Args: args, InsecureRegistries: []string{reg.Addr}, RunTmpfs: true, DropIn: "[crio]\nstorage_driver = \"overlay\"\n"})
	conf := pairChain(d.Network(), d.Bridge, d.Subnet, d.IPAMDir(), true)
	if err := os.WriteFile(filepath.Join(d.Dir, "cni", "05-pair.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Start()
	img := reg.Addr + "/busybox:bench"
	if _, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
		t.Fatal(err)
	}
	return d, conf, img
}

// TestBenchPodChain: RunPodSandbox on pair.sh's CNI chain against the
// chain's ADD run bare through libcni (the plugins' own exec time), with
// and without portmap, alternating so all see the same machine.
func TestBenchPodChain(t *testing.T) {
	d, conf, _ := pairDaemon(t)
	ctx := framework.Ctx(t)
	full := chainAlone(t, "full", conf)
	// The daemon leaves portmap out of the chain of a pod without host
	// ports (README "Pods"): the chain it runs for these pods.
	noPM := chainAlone(t, "nopm", pairChain(d.Network(), d.Bridge, d.Subnet, d.IPAMDir(), false))
	var infra, plain, bare, bareNoPM dist
	for i := 0; i < 30; i++ {
		start := time.Now()
		if _, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: critestPod(i)}); err != nil {
			t.Fatal(err)
		}
		infra = append(infra, time.Since(start))
		time.Sleep(settle)
		start = time.Now()
		if _, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg(100 + i)}); err != nil {
			t.Fatal(err)
		}
		plain = append(plain, time.Since(start))
		time.Sleep(settle)
		bare = append(bare, full(i))
		time.Sleep(settle)
		bareNoPM = append(bareNoPM, noPM(i))
		time.Sleep(settle)
	}
	stages := map[string]dist{}
	for _, m := range stageRE.FindAllStringSubmatch(d.Logs(), -1) {
		if v, err := time.ParseDuration(m[3]); err == nil {
			stages[m[2]] = append(stages[m[2]], v)
		}
	}
	fmt.Printf("pair.sh chain (bridge+host-local+portmap+loopback), ADD bare via libcni: %v\n", bare)
	fmt.Printf("  the same without portmap (as the daemon runs it for pods without host ports): %v\n", bareNoPM)
	fmt.Printf("RunPodSandbox, critest's pod (shared PID namespace: infra process): %v\n", infra)
	fmt.Printf("RunPodSandbox, kubelet's usual pod (no infra process):             %v\n", plain)
	for _, s := range []string{"namespaces", "cni_add", "infra"} {
		fmt.Printf("  stage %-10s %v\n", s, stages[s])
	}
	fmt.Printf("ratio p50 RunPodSandbox / whole chain ADD: critest's pod %.2f, usual pod %.2f; usual pod / chain without portmap %.2f\n",
		float64(infra.pct(0.5))/float64(bare.pct(0.5)), float64(plain.pct(0.5))/float64(bare.pct(0.5)), float64(plain.pct(0.5))/float64(bareNoPM.pct(0.5)))
}

// chainAlone returns a func that times the ADD of the conflist conf on a
// fresh namespace through libcni, as a runtime runs it (every plugin of the
// list); DEL and the namespaces are undone at cleanup.
func chainAlone(t *testing.T, name, conf string) func(i int) time.Duration {
	list, err := libcni.NetworkConfFromBytes([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{"/usr/lib/cni", "/opt/cni/bin"}, t.TempDir(), nil)
	return func(i int) time.Duration {
		ns := fmt.Sprintf("crt%s%d", name, i)
		if err := exec.Command("ip", "netns", "add", ns).Run(); err != nil {
			t.Fatal(err)
		}
		rt := &libcni.RuntimeConf{ContainerID: ns, NetNS: "/var/run/netns/" + ns, IfName: "eth0",
			Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "test"}, {"K8S_POD_NAME", ns}}}
		t.Cleanup(func() {
			_ = cni.DelNetworkList(context.Background(), list, rt)
			_ = exec.Command("ip", "netns", "del", ns).Run()
		})
		start := time.Now()
		if _, err := cni.AddNetworkList(context.Background(), list, rt); err != nil {
			t.Fatalf("chain ADD: %v", err)
		}
		return time.Since(start)
	}
}

// TestBenchPodFromScratch: a pod with one container from nothing to
// running (RunPodSandbox, ImageStatus + CreateContainer, StartContainer),
// the sequence of critest's "start a container from scratch", many
// samples; critest's figure also holds the pod's stop and remove.
func TestBenchPodFromScratch(t *testing.T) {
	d, _, img := pairDaemon(t)
	var running, whole, stop, remove dist
	n := 30 // CRIO_BENCH_N=150 makes a run long enough to profile
	if v, _ := strconv.Atoi(os.Getenv("CRIO_BENCH_N")); v > 0 {
		n = v
	}
	for i := 0; i < n; i++ {
		r, s, rm := podFromScratch(t, d, img, i)
		running, stop, remove = append(running, r), append(stop, s), append(remove, rm)
		whole = append(whole, r+s+rm)
		time.Sleep(settle)
	}
	// critest times one sample right after a warm-up one: what the
	// warm-up left to finish in the background runs beside the sample.
	var sample dist
	for i := 0; i < 8; i++ {
		podFromScratch(t, d, img, 1000+2*i)
		r, s, rm := podFromScratch(t, d, img, 1001+2*i)
		sample = append(sample, r+s+rm)
		time.Sleep(2 * time.Second) // quiet, as critest's specs before it leave the daemon
	}
	fmt.Printf("pod from nothing to running (RunPodSandbox + ImageStatus + CreateContainer + StartContainer, critest's pod, pair.sh's chain): %v\n", running)
	fmt.Printf("  the same + StopPodSandbox + RemovePodSandbox (critest's \"start a container from scratch\" sequence): %v\n", whole)
	fmt.Printf("    of which StopPodSandbox: %v; RemovePodSandbox: %v\n", stop, remove)
	fmt.Printf("  the same, one sample right after a warm-up one, as critest's gmeasure: %v\n", sample)
}

// podFromScratch runs critest's pod i with one container, then stops and
// removes it; it returns the time to running, of the stop and the remove.
func podFromScratch(t *testing.T, d *framework.Daemon, img string, i int) (running, stop, remove time.Duration) {
	ctx := framework.Ctx(t)
	start := time.Now()
	cfg := critestPod(i)
	r, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
		t.Fatal(err)
	}
	c := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: img},
		Command: []string{"sleep", "3600"}, Linux: &runtimeapi.LinuxContainerConfig{}}
	cr, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: r.PodSandboxId, Config: c, SandboxConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		t.Fatal(err)
	}
	running = time.Since(start)
	t0 := time.Now()
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: r.PodSandboxId}); err != nil {
		t.Fatal(err)
	}
	stop = time.Since(t0)
	t0 = time.Now()
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: r.PodSandboxId}); err != nil {
		t.Fatal(err)
	}
	return running, stop, time.Since(t0)
}
