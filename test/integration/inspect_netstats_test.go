package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/inspect"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestPodNetworkStatsCgroup: a pod without an infra process gets CRI-O's
// empty crio-<pod id> cgroup under its parent, where cAdvisor finds the
// pod's "POD" container and reads the pod's network through the pid that
// /containers/<pod id> names: its running container's, in the pod's
// network namespace. The pod's stop removes the cgroup; a host-network
// pod gets none. A daemon restart makes one missing.
func TestPodNetworkStatsCgroup(t *testing.T) {
	requireCgroupV1Memory(t)
	e := newEnv(t, registry.Image{})
	parent := cgroupParent(t, e)
	ctx := framework.Ctx(t)
	cfg := framework.PodConfig("netstats")
	cfg.Linux.CgroupParent = parent
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "netstats")
	podID, _ := runPod(t, e.d, cfg)

	var statsDirs []string
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		statsDirs = append(statsDirs, filepath.Join("/sys/fs/cgroup", ctrl, parent, "crio-"+podID))
	}
	for _, d := range statsDirs {
		procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil || len(procs) != 0 {
			t.Errorf("%s: want an empty cgroup: %v %q", d, err, procs)
		}
	}
	podPid := func() int {
		var pod inspect.Container
		if code := inspectGet(t, e.d.Socket, "/containers/"+podID, &pod); code != http.StatusOK {
			t.Fatalf("/containers/%s: %d", podID, code)
		}
		if pod.Labels["io.kubernetes.container.name"] != "POD" {
			t.Errorf("pod labels %v", pod.Labels)
		}
		return pod.Pid
	}
	if pid := podPid(); pid != 0 {
		t.Errorf("a pod with no container names pid %d", pid)
	}

	id := e.create(t, podID, cfg, "web", "sleep", "3600")
	e.start(t, id)
	pid := podPid()
	if want := verbosePids(t, e, id)[0]; pid == 0 || pid != want {
		t.Fatalf("pod pid %d, want the container's %d", pid, want)
	}
	if dev, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev"); err != nil || !strings.Contains(string(dev), "eth0:") {
		t.Errorf("the pid's network is not the pod's: %v %s", err, dev)
	}
	// A pod run by a daemon without stats cgroups gets one at the restart.
	e.d.Stop()
	for _, d := range statsDirs {
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
	}
	e.d.Start()
	for _, d := range statsDirs {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("not made again at the restart: %v", err)
		}
	}
	if got := podPid(); got != pid {
		t.Errorf("after the restart the pod names pid %d, want %d", got, pid)
	}
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if pid := podPid(); pid != 0 {
		t.Errorf("after its only container stopped the pod names pid %d", pid)
	}

	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	for _, d := range statsDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s stayed after the pod's stop: %v", d, err)
		}
	}

	host := framework.PodConfig("netstats-host")
	host.Linux.CgroupParent = parent
	host.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	hostID, _ := runPod(t, e.d, host)
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", parent, "crio-"+hostID)); !os.IsNotExist(err) {
		t.Errorf("a host-network pod got a stats cgroup: %v", err)
	}
	for _, p := range []string{podID, hostID} {
		if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p}); err != nil {
			t.Fatal(err)
		}
	}
}
