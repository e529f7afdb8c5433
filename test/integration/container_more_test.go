package integration

import (
	"bytes"
	"encoding/json"
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

func parseLog(t *testing.T, path string) (tags []string, texts []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		m := logLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a CRI log line: %.80q", l)
		}
		tags = append(tags, m[1]+" "+m[2])
		texts = append(texts, m[3])
	}
	return tags, texts
}

func TestLongLinesSplitPartial(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "long")
	// 40000 'a's then a newline: 16384 P, 16384 P, 7232 F.
	id := e.create(t, podID, podCfg, "long", "sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo")
	e.start(t, id)
	st := e.waitExited(t, id)
	tags, texts := parseLog(t, st.LogPath)
	want := []string{"stdout P", "stdout P", "stdout F"}
	if strings.Join(tags, ",") != strings.Join(want, ",") || len(texts[0]) != 16384 || len(texts[1]) != 16384 || len(texts[2]) != 7232 {
		lens := []int{}
		for _, x := range texts {
			lens = append(lens, len(x))
		}
		t.Errorf("tags %v lens %v", tags, lens)
	}
}

func TestReopenLogDuringOutputLosesNothing(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "reopen")
	id := e.create(t, podID, podCfg, "counter", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done; sleep 1")
	e.start(t, id)
	st := e.status(t, id)
	var rotated []string
	for i := 0; i < 5; i++ {
		time.Sleep(100 * time.Millisecond)
		r := st.LogPath + "." + strconv.Itoa(i)
		if err := os.Rename(st.LogPath, r); err != nil {
			t.Fatal(err)
		}
		rotated = append(rotated, r)
		if _, err := e.d.Runtime.ReopenContainerLog(framework.Ctx(t), &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
			if e.status(t, id).State == runtimeapi.ContainerState_CONTAINER_EXITED {
				break
			}
			t.Fatalf("reopen: %v", err)
		}
	}
	e.waitExited(t, id)
	seen := map[string]int{}
	for _, p := range append(rotated, st.LogPath) {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		_, texts := parseLog(t, p)
		for _, x := range texts {
			seen[x]++
		}
	}
	for i := 0; i < 20000; i++ {
		if n := seen["line"+strconv.Itoa(i)]; n != 1 {
			t.Fatalf("line%d seen %d times across %d rotations", i, n, len(rotated))
		}
	}
}

func TestOOMKilled(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "oom")
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "hog"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{"sh", "-c", "x=$(head -c 256m /dev/zero | tr '\\0' a); echo survived"},
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources:       &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 32 << 20},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}},
		},
	}
	resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, resp.ContainerId)
	st := e.waitExited(t, resp.ContainerId)
	if st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("want OOMKilled/137, got %s/%d", st.Reason, st.ExitCode)
	}
}

func requireCgroupV1Memory(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		t.Skip("reads cgroup v1 files (this host is not v1/hybrid)")
	}
}

// cgroupParent makes a pod cgroup in the memory, cpu and pids hierarchies
// (v1), as the kubelet would; the test's end removes it from every
// hierarchy (runc makes it in the others), after e's daemon stops.
func cgroupParent(t *testing.T, e *env) string {
	t.Helper()
	parent := "/crio-it-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		if err := os.Mkdir(filepath.Join("/sys/fs/cgroup", ctrl, parent), 0o755); err != nil {
			t.Skipf("cgroup v1 %s: %v", ctrl, err)
		}
	}
	t.Cleanup(func() {
		e.d.Stop()
		removeCgroupParent(parent)
	})
	return parent
}

// removeCgroupParent removes a test's pod cgroup from every hierarchy,
// deepest first (a failed test may leave a pod's cgroups in it).
func removeCgroupParent(parent string) {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent, "*", "cgroup.procs"))
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	top, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent))
	for _, d := range append(dirs, top...) {
		// The monitor leaves the cgroup just after writing the exit record.
		for i := 0; i < 50 && os.Remove(d) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestUpdateContainerResourcesReachesCgroup(t *testing.T) {
	requireCgroupV1Memory(t)
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "update")
	id := e.create(t, podID, podCfg, "upd", "sleep", "3600")
	e.start(t, id)
	_, err := e.d.Runtime.UpdateContainerResources(framework.Ctx(t), &runtimeapi.UpdateContainerResourcesRequest{
		ContainerId: id,
		Linux:       &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, CpuShares: 512, CpuQuota: 20000, CpuPeriod: 100000},
	})
	if err != nil {
		t.Fatal(err)
	}
	cg := "/crio-" + id // no cgroup parent: the container's cgroup is at the root
	checks := map[string]string{
		"/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes": strconv.Itoa(64 << 20),
		"/sys/fs/cgroup/cpu" + cg + "/cpu.shares":               "512",
		"/sys/fs/cgroup/cpu" + cg + "/cpu.cfs_quota_us":         "20000",
	}
	for f, want := range checks {
		if got, err := os.ReadFile(f); err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s = %q (%v), want %s", f, got, err, want)
		}
	}
	st := e.status(t, id)
	if r := st.GetResources().GetLinux(); r.MemoryLimitInBytes != 64<<20 || r.CpuShares != 512 || r.CpuQuota != 20000 {
		t.Errorf("status resources: %+v", r)
	}
}

// TestDaemonSIGKILLRestart: containers keep running and exiting while the
// daemon is down; after restart every state and exit code is right.
func TestDaemonSIGKILLRestart(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "crash")
	running := e.create(t, podID, podCfg, "running", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")
	e.start(t, running)
	exits := e.create(t, podID, podCfg, "exits", "sh", "-c", "sleep 2; echo bye; exit 5")
	e.start(t, exits)
	created := e.create(t, podID, podCfg, "created", "true")
	createdPids := verbosePids(t, e, created)
	e.d.Kill()
	// As if the daemon died between recording a start and the runtime's
	// start: the record says started, the runtime says created.
	rec := filepath.Join(e.d.Dir, "state", "containers", created+".json")
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"started":false`), []byte(`"started":true,"startedAt":1`), 1)
	if err := os.WriteFile(rec, data, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // "exits" exits while the daemon is down
	e.d.Start()
	// The record is written before the monitor reports its pids (they are
	// recovered at restore).
	if got := verbosePids(t, e, created); got != createdPids || got[0] == 0 || got[1] == 0 {
		t.Errorf("pid and monitor pid of the created container after restart: %v, before %v", got, createdPids)
	}
	if st := e.status(t, running); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("running container after restart: %+v", st)
	}
	st := e.status(t, exits)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 5 {
		t.Errorf("container that exited while down: %+v", st)
	}
	if _, texts := parseLog(t, st.LogPath); len(texts) != 1 || texts[0] != "bye" {
		t.Errorf("log of container that exited while down: %v", texts)
	}
	if st := e.status(t, created); st.State != runtimeapi.ContainerState_CONTAINER_CREATED {
		t.Errorf("created container after restart: %+v", st)
	}
	e.start(t, created)
	if st := e.waitExited(t, created); st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("start after restart: %+v", st)
	}
	ctx := framework.Ctx(t)
	if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: running, Timeout: 5}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(t, running); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 0 {
		t.Errorf("stop after restart: %+v", st)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	list, _ := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if len(list.Containers) != 0 {
		t.Errorf("containers left after pod removal: %d", len(list.Containers))
	}
}

// verbosePids returns the container's pid and its monitor's pid.
func verbosePids(t *testing.T, e *env, id string) [2]int {
	t.Helper()
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Pid        int `json:"pid"`
		MonitorPid int `json:"monitorPid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		t.Fatal(err)
	}
	return [2]int{info.Pid, info.MonitorPid}
}

// TestSecondRuntimeHandler runs a pod on a second runc handler with its own root.
func TestSecondRuntimeHandler(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runc2")
	e := newEnvWith(t, registry.Image{}, framework.Options{
		Config: "\n[crio.runtime.runtimes.runc2]\nruntime_path = \"/usr/bin/runc\"\nruntime_root = \"" + root + "\"\n",
	})
	d := e.d
	cfg := framework.PodConfig("second")
	resp, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "runc2"})
	if err != nil {
		t.Fatal(err)
	}
	id := e.create(t, resp.PodSandboxId, cfg, "on-runc2", "sleep", "3600")
	e.start(t, id)
	if _, err := os.Stat(filepath.Join(root, id, "state.json")); err != nil {
		t.Errorf("container not under the second handler's root: %v", err)
	}
	st, _ := d.Runtime.PodSandboxStatus(framework.Ctx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if st.Status.RuntimeHandler != "runc2" {
		t.Errorf("pod handler %q", st.Status.RuntimeHandler)
	}
}

// TestCgroupParentAndMonitorPlacement: a pod's cgroup parent holds its
// containers and their monitors (cgroupfs driver, v1).
func TestCgroupParentAndMonitorPlacement(t *testing.T) {
	requireCgroupV1Memory(t)
	e := newEnv(t, registry.Image{})
	parent := cgroupParent(t, e)
	cfg := framework.PodConfig("cgparent")
	cfg.Linux.CgroupParent = parent
	podID, _ := runPod(t, e.d, cfg)
	id := e.create(t, podID, cfg, "inparent", "sleep", "3600")
	e.start(t, id)
	procs, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", parent, "crio-"+id, "cgroup.procs"))
	if err != nil || strings.TrimSpace(string(procs)) == "" {
		t.Errorf("container not in %s/crio-%s: %v %q", parent, id, err, procs)
	}
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	monitorPid := between(st.Info["info"], `"monitorPid":`, `,`)
	podProcs, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", parent, "cgroup.procs"))
	if monitorPid == "" || !strings.Contains("\n"+string(podProcs), "\n"+monitorPid+"\n") {
		t.Errorf("monitor %s not in the pod cgroup: %q", monitorPid, podProcs)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
}

func TestImageVolumeMount(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "imgvol")
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "imgvol"},
		Command:  []string{"sleep", "3600"},
		Mounts:   []*runtimeapi.Mount{{ContainerPath: "/img", Image: &runtimeapi.ImageSpec{Image: e.image}, Readonly: true}},
	})
	if out, _, code := e.exec(t, id, "ls", "/img/bin/busybox"); code != 0 || !strings.Contains(out, "busybox") {
		t.Errorf("image volume content: %d %q", code, out)
	}
	if _, _, code := e.exec(t, id, "touch", "/img/x"); code == 0 {
		t.Error("image volume is writable")
	}
	if m := e.status(t, id).Mounts; len(m) != 1 || m[0].Image.Image != e.imgRef {
		t.Errorf("status mounts must carry the image volume's image: %+v", m)
	}
}

// TestSystemdSliceNamingWithoutSystemd: cgroup_manager = "systemd" takes
// slice names; where systemd does not run they are laid out in cgroupfs the
// way systemd would.
func TestSystemdSliceNamingWithoutSystemd(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: the runtime uses it directly")
	}
	framework.RequireRoot(t)
	requireCgroupV1Memory(t)
	e := newEnvWith(t, registry.Image{}, framework.Options{Args: []string{"--cgroup-manager", "systemd"}})
	d := e.d
	rc, err := d.Runtime.RuntimeConfig(framework.Ctx(t), &runtimeapi.RuntimeConfigRequest{})
	if err != nil || rc.Linux.CgroupDriver != runtimeapi.CgroupDriver_SYSTEMD {
		t.Fatalf("RuntimeConfig: %v %v", rc, err)
	}
	uid := strconv.FormatInt(time.Now().UnixNano(), 36)
	slices := []string{"crt.slice", "crt-be.slice", "crt-be-pod" + uid + ".slice"}
	t.Cleanup(func() {
		d.Stop()
		for _, ctrl := range []string{"memory", "cpu", "pids", "cpuset", "devices", "freezer", "blkio", "cpuacct", "net_cls", "perf_event", "net_prio", "hugetlb", "rdma", "misc", "systemd", "unified"} {
			for i := len(slices); i > 0; i-- {
				p := filepath.Join(append([]string{"/sys/fs/cgroup", ctrl}, slices[:i]...)...)
				for j := 0; j < 50 && os.Remove(p) != nil && !os.IsNotExist(os.Remove(p)); j++ {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
	})
	cfg := framework.PodConfig("slice")
	cfg.Linux.CgroupParent = slices[2]
	podID, _ := runPod(t, d, cfg)
	id := e.create(t, podID, cfg, "inslice", "sleep", "3600")
	e.start(t, id)
	scope := filepath.Join(append([]string{"/sys/fs/cgroup/memory"}, slices...)...)
	procs, err := os.ReadFile(filepath.Join(scope, "crio-"+id+".scope", "cgroup.procs"))
	if err != nil || strings.TrimSpace(string(procs)) == "" {
		t.Errorf("container not in %s/crio-%s.scope: %v", scope, id, err)
	}
	bad := framework.PodConfig("badslice")
	bad.Linux.CgroupParent = "/kubepods/pod1"
	if _, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: bad}); err == nil {
		t.Error("a cgroupfs path was accepted with the systemd driver")
	}
	if _, err := d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
}

// TestPauseImage: with pause_image set, the infra process of a shared-PID
// pod comes from that image (pulled on first use) and pause_command.
func TestPauseImage(t *testing.T) {
	framework.RequireRoot(t)
	pause, err := os.ReadFile(filepath.Join(framework.Binaries(t), "pause"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", registry.Image{})
	reg.Push(t, "mypause:1", registry.Image{NoBase: true, ExtraLayers: [][]registry.TarEntry{{{Name: "my-pause", Mode: 0o755, Data: pause}}}})
	d := framework.StartDaemon(t, framework.Options{
		InsecureRegistries: []string{reg.Addr},
		DropIn:             "[crio.image]\npause_image = \"" + reg.Addr + "/mypause:1\"\npause_command = \"/my-pause\"\n",
	})
	e := &env{d: d, reg: reg, image: reg.Addr + "/busybox:test"}
	if _, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
		t.Fatal(err)
	}
	cfg := framework.PodConfig("pauseimg")
	cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
	podID, _ := runPod(t, d, cfg)
	c := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}}},
	}
	resp, err := d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: c, SandboxConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, resp.ContainerId)
	out, _, _ := e.exec(t, resp.ContainerId, "ps", "-o", "pid,args")
	if !regexp.MustCompile(`(?m)^\s*1\s+/my-pause`).MatchString(out) {
		t.Errorf("PID 1 is not the pause_image's command:\n%s", out)
	}
	img, err := d.Image.ImageStatus(framework.Ctx(t), &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: reg.Addr + "/mypause:1"}})
	if err != nil || img.Image == nil {
		t.Errorf("pause_image was not pulled: %v %v", img, err)
	}
	if _, err := d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	// The infra rootfs is gone with the pod, so the pause image can go too.
	if _, err := d.Image.RemoveImage(framework.Ctx(t), &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: reg.Addr + "/mypause:1"}}); err != nil {
		t.Errorf("remove pause image after the pod: %v", err)
	}
}

func TestContainerBadInputAndLargeExecOutput(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "bad")
	ctx := framework.Ctx(t)
	mk := func(pod string, cfg *runtimeapi.ContainerConfig) error {
		_, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cfg, SandboxConfig: podCfg})
		return err
	}
	good := func(name string) *runtimeapi.ContainerConfig {
		return &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"sleep", "3600"}}
	}
	for name, tc := range map[string]struct {
		pod  string
		cfg  *runtimeapi.ContainerConfig
		code codes.Code
	}{
		"unknown pod":     {"nosuchpod", good("a"), codes.NotFound},
		"no pod id":       {"", good("a"), codes.InvalidArgument},
		"no metadata":     {podID, &runtimeapi.ContainerConfig{Image: &runtimeapi.ImageSpec{Image: e.image}}, codes.InvalidArgument},
		"unknown image":   {podID, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "b"}, Image: &runtimeapi.ImageSpec{Image: "example.invalid/none:1"}}, codes.NotFound},
		"log path escape": {podID, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: e.image}, LogPath: "../../escape.log"}, codes.InvalidArgument},
	} {
		if err := mk(tc.pod, tc.cfg); status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %v", name, err, tc.code)
		}
	}
	// A runtime create failure carries runc's own message and leaves nothing.
	err := mk(podID, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "nobin"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"/no/such/binary"}})
	if err == nil {
		t.Error("create with a missing binary succeeded")
	} else if list, _ := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); len(list.Containers) != 0 {
		t.Errorf("failed create left %d containers", len(list.Containers))
	}
	// Nor the record written while the runtime was creating it.
	if entries, _ := os.ReadDir(filepath.Join(e.d.Dir, "state", "containers")); len(entries) != 0 {
		t.Errorf("failed create left records: %v", entries)
	}
	id := e.create(t, podID, podCfg, "ok", "sleep", "3600")
	if err := mk(podID, good("ok")); status.Code(err) != codes.AlreadyExists {
		t.Errorf("name clash: %v", err)
	}
	for _, bad := range []string{"", "nosuchcontainer"} {
		_, err := e.d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: bad})
		if want := map[string]codes.Code{"": codes.InvalidArgument, "nosuchcontainer": codes.NotFound}[bad]; status.Code(err) != want {
			t.Errorf("start %q: %v, want %v", bad, err, want)
		}
	}
	e.start(t, id)
	// Output over 16 MiB is capped with a note.
	ex, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "head -c 20000000 /dev/zero"}, Timeout: 30})
	if err != nil || len(ex.Stdout) < 16<<20-8<<10 || len(ex.Stdout) > 16<<20 || !strings.Contains(string(ex.Stdout[len(ex.Stdout)-100:]), "truncated") {
		t.Errorf("large exec output: %v, %d bytes", err, len(ex.GetStdout()))
	}
	// A stopped pod takes no new containers.
	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if err := mk(podID, good("late")); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("create in a stopped pod: %v", err)
	}
	if st := e.status(t, id); st.Reason == "OOMKilled" {
		t.Errorf("a plain SIGKILL must not read as OOMKilled: %+v", st)
	}
}
