package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// What a kubelet sends that critest does not: these tests each send
// exactly what kubelet v1.37 sends on a node like this one.

// kubeletHugepages is the kubelet's HugepageLimits: a zero limit for every
// page size the node reports, on every container.
func kubeletHugepages(t *testing.T) []*runtimeapi.HugepageLimit {
	t.Helper()
	ents, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		t.Skipf("no huge pages on this host: %v", err)
	}
	var out []*runtimeapi.HugepageLimit
	for _, e := range ents {
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(e.Name(), "hugepages-"), "kB"), 10, 64)
		if err != nil {
			continue
		}
		size := strconv.FormatUint(kb>>10, 10) + "MB"
		if kb%(1<<20) == 0 {
			size = strconv.FormatUint(kb>>20, 10) + "GB"
		}
		out = append(out, &runtimeapi.HugepageLimit{PageSize: size, Limit: 0})
	}
	if len(out) == 0 {
		t.Skip("no huge page sizes on this host")
	}
	return out
}

func TestKubeletResourcesRun(t *testing.T) {
	e := newEnv(t, registry.Image{Volumes: []string{"C:/data", ":colon_prefixed", "/ok"}})
	podID, podCfg := e.pod(t, "kubelet-res")
	ctx := framework.Ctx(t)
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "hp"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{"sleep", "600"},
		LogPath:  "hp.log",
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{
				CpuShares: 2, OomScoreAdj: 1000, HugepageLimits: kubeletHugepages(t),
				// memory.high has no cgroup v1 equivalent: dropped there, kept on v2.
				Unified: map[string]string{"memory.high": "max"},
			},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				// Kubelets pass a pod's seLinuxOptions on any node.
				SelinuxOptions: &runtimeapi.SELinuxOption{Level: "s0:c1,c2"},
			},
		},
	}
	resp, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("create with the kubelet's resources: %v", err)
	}
	e.start(t, resp.ContainerId)
	if st := e.status(t, resp.ContainerId); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("state %v", st.State)
	}
	// The image's odd volumes were placed under the root.
	r, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: resp.ContainerId, Cmd: []string{"ls", "-d", "/C:/data", "/:colon_prefixed", "/ok"}, Timeout: 10})
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("volumes: %v %s %s", err, r.GetStdout(), r.GetStderr())
	}
	// An in-place resize sends the same hugepage limits.
	if _, err := e.d.Runtime.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{
		ContainerId: resp.ContainerId,
		Linux:       &runtimeapi.LinuxContainerResources{CpuShares: 4, HugepageLimits: kubeletHugepages(t)},
	}); err != nil {
		t.Fatalf("update with the kubelet's resources: %v", err)
	}
	// A CPU the host does not have is a placement the kubelet relies on.
	cfg2 := proto.Clone(cfg).(*runtimeapi.ContainerConfig)
	cfg2.Metadata.Name = "cpus"
	cfg2.Linux.Resources.CpusetCpus = "0-4095"
	_, err = e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg2, SandboxConfig: podCfg})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "cpuset_cpus") {
		t.Errorf("cpuset outside the host: %v, want InvalidArgument naming cpuset_cpus", err)
	}
	// One warning per daemon start, not per container.
	e.create(t, podID, podCfg, "again", "true")
	log := e.d.Logs()
	if n := strings.Count(log, "hugepage limit"); n == 0 || n > len(kubeletHugepages(t)) {
		t.Errorf("hugepage warnings logged %d times, want once per page size", n)
	}
}

func TestStatusAsKubeletReadsIt(t *testing.T) {
	e := newEnv(t, registry.Image{StopSignal: "SIGQUIT"})
	ctx := framework.Ctx(t)
	ev := subscribe(t, e.d)
	podID, podCfg := e.pod(t, "kubelet-status")

	// The handler is reported as asked: empty for the default.
	st, err := e.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID})
	if err != nil || st.Status.RuntimeHandler != "" {
		t.Fatalf("status handler %q, %v; want \"\"", st.GetStatus().GetRuntimeHandler(), err)
	}
	list, err := e.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: podID}})
	if err != nil || len(list.Items) != 1 || list.Items[0].RuntimeHandler != "" {
		t.Fatalf("list handler: %+v %v", list, err)
	}

	// StopSignal: the image's, the config's, else SIGTERM.
	fromImage := e.create(t, podID, podCfg, "image-signal", "sleep", "600")
	if got := e.status(t, fromImage).StopSignal; got != runtimeapi.Signal_SIGNAL_SIGQUIT {
		t.Errorf("stop signal from image: %v", got)
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "config-signal"}, Image: &runtimeapi.ImageSpec{Image: e.image},
		Command: []string{"sleep", "600"}, LogPath: "cs.log", StopSignal: runtimeapi.Signal_SIGNAL_SIGUSR1,
	}
	resp, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.status(t, resp.ContainerId).StopSignal; got != runtimeapi.Signal_SIGNAL_SIGUSR1 {
		t.Errorf("stop signal from config: %v", got)
	}

	// Pod events, in order, each with the pod's status and metadata.
	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	ev.waitTypes(t, podID, "CREATED", "STARTED", "STOPPED", "DELETED")
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, x := range ev.events {
		if x.ContainerId != podID {
			continue
		}
		ps := x.PodSandboxStatus
		if ps.GetId() != podID || ps.GetMetadata().GetUid() != podCfg.Metadata.Uid || x.CreatedAt == 0 {
			t.Errorf("pod event %v without the pod's status: %+v", x.ContainerEventType, ps)
		}
		ready := ps.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY
		if wantReady := x.ContainerEventType <= runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT; ready != wantReady {
			t.Errorf("pod event %v with state %v", x.ContainerEventType, ps.GetState())
		}
	}
}
