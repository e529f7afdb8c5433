package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/nri/pkg/api"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// execOut runs cmd in the container and returns its trimmed stdout.
func (e *env) execOut(t *testing.T, id string, cmd ...string) string {
	t.Helper()
	r, err := e.d.Runtime.ExecSync(framework.Ctx(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 20})
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return strings.TrimSpace(string(r.Stdout))
}

// hostCgroup reads a cgroup v1 file of a container without a cgroup parent.
func hostCgroup(t *testing.T, ctrl, id, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, "crio-"+id, file))
	if err != nil {
		t.Errorf("read %s/%s: %v", ctrl, file, err)
	}
	return strings.TrimSpace(string(b))
}

// TestNRIAdjustmentsReachTheContainer: every kind of adjustment a plugin
// makes at CreateContainer shows inside the container, in its cgroup or on
// the host (the hook's effect).
func TestNRIAdjustmentsReachTheContainer(t *testing.T) {
	requireCgroupV1Memory(t)
	e := newEnv(t, registry.Image{})
	hostDir, marks := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "file"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hookMark := filepath.Join(marks, "hook-ran")
	startNRIPlugin(t, e.d, "10", "adjust", &nriPlugin{onCreate: func(_ *api.PodSandbox, c *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
		a := &api.ContainerAdjustment{}
		a.AddAnnotation("nri.test/added", "yes")
		a.AddEnv("NRI_ENV", "from-plugin")
		a.AddMount(&api.Mount{Source: hostDir, Destination: "/nri-mnt", Type: "bind", Options: []string{"rbind", "ro"}})
		a.AddDevice(&api.LinuxDevice{Path: "/dev/nri-null", Type: "c", Major: 1, Minor: 3, FileMode: api.FileMode(0o666)})
		a.AddHooks(&api.Hooks{CreateRuntime: []*api.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo " + c.Id + " > " + hookMark}}}})
		a.AddRlimit("RLIMIT_NOFILE", 1234, 1234)
		a.SetLinuxMemoryLimit(96 << 20)
		a.SetLinuxCPUShares(384)
		a.SetLinuxCPUQuota(30000)
		a.SetLinuxCPUPeriod(100000)
		a.SetLinuxCPUSetCPUs("0")
		a.SetLinuxCPUSetMems("0")
		a.SetLinuxPidLimits(77)
		oom := 500
		a.SetLinuxOomScoreAdj(&oom)
		return a, nil, nil
	}})
	podID, podCfg := e.pod(t, "nri-adjust")
	id := e.create(t, podID, podCfg, "adjusted", "sleep", "600")
	e.start(t, id)
	inside := []struct{ cmd, want string }{
		{"echo $NRI_ENV", "from-plugin"},
		{"cat /nri-mnt/file", "from-host"},
		{"test -c /dev/nri-null && echo x > /dev/nri-null && echo ok", "ok"},
		{"ulimit -n", "1234"},
		{"cat /proc/self/oom_score_adj", "500"},
	}
	for _, c := range inside {
		if got := e.execOut(t, id, "sh", "-c", c.cmd); got != c.want {
			t.Errorf("%s: %q, want %q", c.cmd, got, c.want)
		}
	}
	for _, c := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", strconv.Itoa(96 << 20)},
		{"cpu", "cpu.shares", "384"},
		{"cpu", "cpu.cfs_quota_us", "30000"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
		{"pids", "pids.max", "77"},
	} {
		if got := hostCgroup(t, c.ctrl, id, c.file); got != c.want {
			t.Errorf("%s: %q, want %q", c.file, got, c.want)
		}
	}
	if b, err := os.ReadFile(hookMark); err != nil || strings.TrimSpace(string(b)) != id {
		t.Errorf("createRuntime hook: %q %v", b, err)
	}
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Info["info"], `"nri.test/added":"yes"`) {
		t.Errorf("annotation not in the spec: %.400s", st.Info["info"])
	}
}

// TestNRIEventsInOrderAndLateSync: a plugin that connects late is
// synchronised with the pods and containers that exist, then gets every
// event of a new pod and container in order.
func TestNRIEventsInOrderAndLateSync(t *testing.T) {
	e := newEnv(t, registry.Image{})
	oldPod, oldCfg := e.pod(t, "nri-old")
	oldCtr := e.create(t, oldPod, oldCfg, "old", "sleep", "600")
	e.start(t, oldCtr)
	p := startNRIPlugin(t, e.d, "10", "events", &nriPlugin{})
	p.mu.Lock()
	syncPods, syncCtrs := p.syncPods, p.syncCtrs
	p.mu.Unlock()
	if !containsStr(syncPods, oldPod) || !containsStr(syncCtrs, oldCtr) {
		t.Errorf("late plugin synchronised with pods %v containers %v, want %s and %s", syncPods, syncCtrs, oldPod, oldCtr)
	}
	ctx := framework.Ctx(t)
	podID, podCfg := e.pod(t, "nri-new")
	id := e.create(t, podID, podCfg, "c", "sleep", "600")
	e.start(t, id)
	if _, err := e.d.Runtime.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{
		ContainerId: id, Linux: &runtimeapi.LinuxContainerResources{CpuShares: 300},
	}); err != nil {
		t.Fatal(err)
	}
	// The event goes out before the pod's cgroup is touched; this pod has
	// no cgroup parent, so the update itself may be refused.
	if _, err := e.d.Runtime.UpdatePodSandboxResources(ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: podID, Resources: &runtimeapi.LinuxContainerResources{CpuShares: 1024},
	}); err != nil {
		t.Logf("UpdatePodSandboxResources: %v", err)
	}
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	exits := e.create(t, podID, podCfg, "exits", "sh", "-c", "exit 3")
	e.start(t, exits)
	p.waitEvent(t, "StopContainer nri-new/exits") // exited on its own
	for _, op := range []func() error{
		func() error {
			_, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID})
			return err
		},
		func() error {
			_, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID})
			return err
		},
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"RunPodSandbox nri-new", "CreateContainer nri-new/c", "PostCreateContainer nri-new/c",
		"StartContainer nri-new/c", "PostStartContainer nri-new/c", "UpdateContainer nri-new/c", "PostUpdateContainer nri-new/c",
		"UpdatePodSandbox nri-new", "StopContainer nri-new/c", "RemoveContainer nri-new/c", "CreateContainer nri-new/exits", "StartContainer nri-new/exits",
		"StopContainer nri-new/exits", "StopPodSandbox nri-new", "RemoveContainer nri-new/exits", "RemovePodSandbox nri-new"}
	if err := inOrder(p.Events(), want); err != nil {
		t.Error(err)
	}
	for _, ev := range []string{"StopContainer nri-new/c", "StopPodSandbox nri-new"} {
		if n := countStr(p.Events(), ev); n != 1 {
			t.Errorf("%s sent %d times", ev, n)
		}
	}
}

func containsStr(s []string, v string) bool { return countStr(s, v) > 0 }

func countStr(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestNRIPreinstalledPlugin: a plugin in nri_plugin_dir is started with the
// daemon, reads its file from nri_plugin_config_dir, and adjusts containers.
func TestNRIPreinstalledPlugin(t *testing.T) {
	e := newEnv(t, registry.Image{})
	dir := filepath.Join(e.d.Dir, "nri")
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "plugins", "05-marker"), "./test/nriplugin")
	build.Dir = framework.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the test plugin: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf.d", "05-marker.conf"), []byte("from-config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.d.Stop() // pre-installed plugins start with the daemon
	e.d.Start()
	podID, podCfg := e.pod(t, "nri-pre")
	id := e.create(t, podID, podCfg, "c", "sleep", "600")
	e.start(t, id)
	if got := e.execOut(t, id, "sh", "-c", "echo $NRI_PREINSTALLED"); got != "from-config" {
		t.Errorf("NRI_PREINSTALLED=%q, want the plugin's config", got)
	}
}
