package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
)

// TestBenchKubeletLists: the kubelet's PLEG lists every pod and every
// container each second. With a full node's 110 pods (CRIO_BENCH_PODS) of
// one container each, labelled and annotated as the kubelet does, the
// client's median of ListPodSandbox and ListContainers (the kubelet's
// empty filter) and the server's CPU per call, after the memory the
// runtime's side of those pods costs (runtimeMemory). CRIO_BENCH_ENDPOINT (with
// CRIO_BENCH_PID) runs it against another runtime, e.g. pair.sh's
// containerd, which must resolve docker.io/library/busybox:1.
func TestBenchKubeletLists(t *testing.T) {
	var r runtimeapi.RuntimeServiceClient
	var pid int
	var img string
	if ep := os.Getenv("CRIO_BENCH_ENDPOINT"); ep != "" {
		if os.Getenv("CRIO_BENCH") == "" {
			t.Skip("set CRIO_BENCH=1 (make bench)")
		}
		conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() }) // after the pods' removal
		r, img = runtimeapi.NewRuntimeServiceClient(conn), "docker.io/library/busybox:1"
		pid, _ = strconv.Atoi(os.Getenv("CRIO_BENCH_PID"))
		if _, err := runtimeapi.NewImageServiceClient(conn).PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
			t.Fatal(err)
		}
	} else {
		d, im := setupInfo(t)
		r, pid, img = d.Runtime, d.Pid(), im
	}
	pods := 110
	if v, err := strconv.Atoi(os.Getenv("CRIO_BENCH_PODS")); err == nil && v > 0 {
		pods = v
	}
	logs := t.TempDir()
	procsBefore, daemonBefore := processes(), pss(pid)
	for i := range pods {
		id := kubeletPod(t, r, img, logs, i)
		t.Cleanup(func() {
			_, _ = r.StopPodSandbox(context.Background(), &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
			_, _ = r.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
		})
	}
	fmt.Printf("%d pods of one running container each:\n", pods)
	runtimeMemory(procsBefore, pid, daemonBefore, pods)
	rpcFloor(t, []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ListPodSandbox", func(ctx context.Context) error {
			_, err := r.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
			return err
		}},
		{"ListContainers", func(ctx context.Context) error {
			_, err := r.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{}})
			return err
		}},
	}, "", pid)
}

// kubeletPod runs pod i with one sleeping container, with the labels and
// annotations the kubelet puts on a Deployment's pod.
func kubeletPod(t *testing.T, r runtimeapi.RuntimeServiceClient, img, logs string, i int) string {
	ctx := framework.Ctx(t)
	name := fmt.Sprintf("web-7d9f8c6b5-%05d", i)
	uid := fmt.Sprintf("0b7f5c2e-4a55-4a43-9f7e-%012d", i)
	cfg := framework.PodConfig(name)
	cfg.Metadata.Uid, cfg.Metadata.Namespace = uid, "default"
	cfg.LogDirectory = filepath.Join(logs, "default_"+name+"_"+uid)
	cfg.Labels = map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5",
		"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid}
	cfg.Annotations = map[string]string{"kubernetes.io/config.seen": "2026-12-05T07:00:00.000000000Z",
		"kubernetes.io/config.source": "api", "kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z"}
	p, err := r.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.PodSandboxId, SandboxConfig: cfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "web"}, Image: &runtimeapi.ImageSpec{Image: img},
			Command: []string{"sleep", "3600"}, LogPath: "web/0.log", Linux: &runtimeapi.LinuxContainerConfig{},
			Labels: map[string]string{"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": name,
				"io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid},
			Annotations: map[string]string{"io.kubernetes.container.hash": "a1b2c3d4", "io.kubernetes.container.restartCount": "0",
				"io.kubernetes.container.terminationMessagePath": "/dev/termination-log", "io.kubernetes.container.terminationMessagePolicy": "File",
				"io.kubernetes.pod.terminationGracePeriod": "30", "io.kubernetes.container.ports": `[{"containerPort":8080,"protocol":"TCP"}]`},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		t.Fatal(err)
	}
	return p.PodSandboxId
}

// processes maps the pid of every process now to its command.
func processes() map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil {
			out[pid] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// pss is a process's proportional set size in KiB; 0 if it is gone.
func pss(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	return 0
}

// runtimeMemory prints what the runtime's side of the pods costs: the PSS
// of the processes started since before (monitors or shims, pause
// processes), by command, leaving out the containers' own sleep, and the
// daemon's growth.
func runtimeMemory(before map[int]string, daemon, daemonBefore, pods int) {
	type group struct{ n, kib int }
	groups := map[string]*group{}
	for p, comm := range processes() {
		if _, old := before[p]; old || comm == "sleep" {
			continue
		}
		k := pss(p)
		if k == 0 {
			continue // a kernel thread, or gone
		}
		if groups[comm] == nil {
			groups[comm] = &group{}
		}
		groups[comm].n++
		groups[comm].kib += k
	}
	total := 0
	for comm, g := range groups {
		fmt.Printf("  %-24s %4d processes, PSS %7.1f MiB\n", comm, g.n, float64(g.kib)/1024)
		total += g.kib
	}
	grew := 0
	if daemon > 0 {
		grew = pss(daemon) - daemonBefore
		fmt.Printf("  %-24s PSS grew %7.1f MiB\n", "the daemon", float64(grew)/1024)
	}
	fmt.Printf("  runtime memory per pod: %.2f MiB PSS\n", float64(total+grew)/1024/float64(pods))
}
