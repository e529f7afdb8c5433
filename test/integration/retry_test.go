package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// gates makes creations slow without timing: the pod network's bridge
// plugin waits in ADD for gates/pod-<pod name>, and the "gated" runtime
// handler waits in create for gates/create. Each runtime create is
// counted in gates/creates.
type gates struct{ dir string }

func newGatedEnv(t *testing.T, extraConfig string, env ...string) (*env, gates) {
	t.Helper()
	g := gates{dir: t.TempDir()}
	plugins := filepath.Join(g.dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	bridge := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n" +
		"  name=$(echo \"$CNI_ARGS\" | tr ';' '\\n' | sed -n 's/^K8S_POD_NAME=//p')\n" +
		"  while [ ! -e " + g.dir + "/pod-$name ]; do sleep 0.05; done\nfi\nexec /usr/lib/cni/bridge\n"
	runtime := "#!/bin/sh\ncase \" $* \" in *\" create \"*) echo x >> " + g.dir + "/creates\n" +
		"  while [ ! -e " + g.dir + "/create ]; do sleep 0.05; done;; esac\nexec /usr/bin/runc \"$@\"\n"
	for path, body := range map[string]string{filepath.Join(plugins, "bridge"): bridge, filepath.Join(g.dir, "runtime"): runtime} {
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnvWith(t, registry.Image{}, framework.Options{
		Config: "\n[crio.runtime.runtimes.gated]\nruntime_path = \"" + filepath.Join(g.dir, "runtime") +
			"\"\nruntime_root = \"" + filepath.Join(g.dir, "root") + "\"\n" + extraConfig,
		DropIn: "[crio.network]\nplugin_dirs = [\"" + plugins + "\", \"/usr/lib/cni\"]\n",
		Env:    env,
	})
	return e, g
}

func (g gates) open(t *testing.T, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(g.dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (g gates) creates() int {
	b, _ := os.ReadFile(filepath.Join(g.dir, "creates"))
	return strings.Count(string(b), "x")
}

// timedOut calls rpc with a context that ends long before the gated
// creation can, as a kubelet's runtime-request-timeout does.
func timedOut(t *testing.T, what string, rpc func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := rpc(ctx); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("%s with a short deadline: %v, want DeadlineExceeded", what, err)
	}
}

// loggedID is the id the daemon logged with msg for name.
func loggedID(t *testing.T, d *framework.Daemon, msg, key, name string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(msg) + `[^\n]*` + key + `=([0-9a-f]{64})[^\n]*name=` + regexp.QuoteMeta(name) + `\b`)
	var id string
	waitFor(t, msg+" "+name, func() (bool, string) {
		m := re.FindStringSubmatch(d.Logs())
		if m != nil {
			id = m[1]
		}
		return m != nil, "not logged"
	})
	return id
}

func retryPodConfig(e *env, name string) *runtimeapi.PodSandboxConfig {
	cfg := framework.PodConfig(name)
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", name)
	return cfg
}

func (e *env) listPods(t *testing.T) []string {
	t.Helper()
	l, err := e.d.Runtime.ListPodSandbox(framework.Ctx(t), &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range l.Items {
		ids = append(ids, p.Id)
	}
	return ids
}

// TestKubeletRetriesSlowCreate: a RunPodSandbox or CreateContainer whose
// client times out goes on; the kubelet's repeat of the same request gets
// the same pod or container, whether it comes after the creation finished
// (hidden until then) or while it runs (it waits, and is counted as a
// stall); a repeat that differs replaces the unclaimed pod.
func TestKubeletRetriesSlowCreate(t *testing.T) {
	port := freePort(t)
	e, g := newGatedEnv(t, fmt.Sprintf("\n[crio.metrics]\nenable_metrics = true\nmetrics_port = %d\n", port))
	ctx := framework.Ctx(t)
	run := func(cfg *runtimeapi.PodSandboxConfig) func(context.Context) error {
		return func(c context.Context) error {
			_, err := e.d.Runtime.RunPodSandbox(c, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "gated"})
			return err
		}
	}

	// A pod finished after its client left: hidden, then handed to the repeat.
	podCfg := retryPodConfig(e, "slow")
	timedOut(t, "RunPodSandbox", run(podCfg))
	g.open(t, "pod-slow")
	first := loggedID(t, e.d, "Ran pod sandbox", "pod", "slow")
	if ids := e.listPods(t); len(ids) != 0 {
		t.Errorf("unclaimed pod listed: %v", ids)
	}
	if _, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: first}); status.Code(err) != codes.NotFound {
		t.Errorf("status of the unclaimed pod: %v, want NotFound", err)
	}
	resp, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg, RuntimeHandler: "gated"})
	if err != nil || resp.PodSandboxId != first {
		t.Fatalf("repeat: %v %v, want the first run's pod %s", resp, err, first)
	}
	st, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: first})
	if err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || st.Status.Network.GetIp() == "" {
		t.Errorf("handed-out pod: %v %v", st, err)
	}
	if ids := e.listPods(t); len(ids) != 1 || ids[0] != first {
		t.Errorf("pods after the repeat: %v", ids)
	}
	// Once handed out, the same request again is a name clash as before.
	if err := run(podCfg)(ctx); status.Code(err) != codes.AlreadyExists {
		t.Errorf("third request: %v, want AlreadyExists", err)
	}

	// A container repeated while its creation still runs: the repeat waits.
	ctrReq := &runtimeapi.CreateContainerRequest{PodSandboxId: first, SandboxConfig: podCfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "slowc"}, Image: &runtimeapi.ImageSpec{Image: e.image},
		Command: []string{"sleep", "3600"}, LogPath: "slowc.log",
	}}
	timedOut(t, "CreateContainer", func(c context.Context) error {
		_, err := e.d.Runtime.CreateContainer(c, ctrReq)
		return err
	})
	type result struct {
		id  string
		err error
	}
	repeated := make(chan result, 1)
	go func() {
		r, err := e.d.Runtime.CreateContainer(ctx, ctrReq)
		if err != nil {
			repeated <- result{err: err}
			return
		}
		repeated <- result{id: r.ContainerId}
	}()
	e.d.WaitLog("Creation not yet finished by an earlier request", time.Minute)
	if l, _ := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); len(l.GetContainers()) != 0 {
		t.Errorf("container listed while being created: %v", l.Containers)
	}
	g.open(t, "create")
	r := <-repeated
	if r.err != nil {
		t.Fatalf("repeated CreateContainer: %v", r.err)
	}
	if n := g.creates(); n != 1 {
		t.Errorf("the runtime created %d containers, want 1", n)
	}
	e.start(t, r.id)
	if st := e.status(t, r.id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.Metadata.Name != "slowc" {
		t.Errorf("handed-out container: %v", st)
	}
	// CRI-O's metric counts the repeat that found the creation unfinished.
	if m := scrapeMetrics(t, port); !strings.Contains(m, `resources_stalled_at_stage{stage="container creating"} 1`) {
		t.Errorf("stall not counted:\n%s", grepLines(m, "stalled"))
	}

	// A differing request with the same name replaces the unclaimed pod.
	diff := retryPodConfig(e, "diff")
	timedOut(t, "RunPodSandbox", run(diff))
	g.open(t, "pod-diff")
	old := loggedID(t, e.d, "Ran pod sandbox", "pod", "diff")
	diff.Labels = map[string]string{"changed": "yes"}
	resp, err = e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: diff, RuntimeHandler: "gated"})
	if err != nil || resp.PodSandboxId == old {
		t.Fatalf("differing request: %v %v, want a new pod", resp, err)
	}
	if _, err := os.Stat(filepath.Join(e.d.Dir, "state", "pods", old+".json")); !os.IsNotExist(err) {
		t.Errorf("the replaced pod's record is left: %v", err)
	}
	if ids := e.listPods(t); len(ids) != 2 {
		t.Errorf("pods after the differing request: %v", ids)
	}
}

// TestKubeletRetryNeverComes: a pod and a container no repeat claims are
// removed after the keep time (shortened here), leaving no record, network
// namespace, IP or monitor.
func TestKubeletRetryNeverComes(t *testing.T) {
	e, g := newGatedEnv(t, "", "CRIO_TEST_UNCLAIMED_KEEP=1s")
	ctx := framework.Ctx(t)
	g.open(t, "pod-host")
	podCfg := retryPodConfig(e, "host")
	pod, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg, RuntimeHandler: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	podID := pod.PodSandboxId
	timedOut(t, "CreateContainer", func(c context.Context) error {
		_, err := e.d.Runtime.CreateContainer(c, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "gone"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "3600"},
		}})
		return err
	})
	gonePod := retryPodConfig(e, "gone")
	gonePod.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: 512} // recorded, so dropped too
	timedOut(t, "RunPodSandbox", func(c context.Context) error {
		_, err := e.d.Runtime.RunPodSandbox(c, &runtimeapi.RunPodSandboxRequest{Config: gonePod, RuntimeHandler: "gated"})
		return err
	})
	g.open(t, "create")
	g.open(t, "pod-gone")
	ctrID := loggedID(t, e.d, "Created container", "container", "gone")
	e.d.WaitLog("Removing a container no repeated request claimed", time.Minute)
	e.d.WaitLog("Removing a pod sandbox no repeated request claimed", time.Minute)
	waitFor(t, "the unclaimed pod and container to be removed", func() (bool, string) {
		var left []string
		for _, kind := range []string{"pods", "containers"} {
			entries, _ := os.ReadDir(filepath.Join(e.d.Dir, "state", kind))
			if n := len(entries); n != map[string]int{"pods": 1, "containers": 0}[kind] {
				left = append(left, fmt.Sprintf("%d %s records", n, kind))
			}
		}
		if entries, _ := os.ReadDir(filepath.Join(e.d.NamespacesDir(), "netns")); len(entries) != 1 {
			left = append(left, fmt.Sprintf("%d netns", len(entries)))
		}
		if ips := allocatedIPs(e.d); len(ips) != 1 {
			left = append(left, fmt.Sprintf("IPs %v", ips))
		}
		if pids := procsNaming(ctrID); len(pids) != 0 {
			left = append(left, fmt.Sprintf("processes of the container %v", pids))
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
	if ids := e.listPods(t); len(ids) != 1 || ids[0] != podID {
		t.Errorf("pods: %v, want only %s", ids, podID)
	}
	if l, _ := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); len(l.GetContainers()) != 0 {
		t.Errorf("containers: %v", l.Containers)
	}
	// The names are free again.
	if _, err := e.d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: gonePod, RuntimeHandler: "gated"}); err != nil {
		t.Errorf("pod name after the removal: %v", err)
	}
}

// allocatedIPs are the addresses host-local holds for the daemon's network.
func allocatedIPs(d *framework.Daemon) []string {
	entries, _ := os.ReadDir(filepath.Join(d.IPAMDir(), d.Network()))
	var ips []string
	for _, en := range entries {
		if strings.Count(en.Name(), ".") == 3 {
			ips = append(ips, en.Name())
		}
	}
	return ips
}

// procsNaming are the processes whose command line has s (a container's
// monitor and runtime name its id).
func procsNaming(s string) []string {
	return procsWhere("cmdline", func(cmd string) bool { return strings.Contains(cmd, s) })
}

// procsWhere are the processes whose /proc/<pid>/file matches.
func procsWhere(file string, match func(string) bool) []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", p.Name(), file)); err == nil && match(string(b)) {
			out = append(out, p.Name())
		}
	}
	return out
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
