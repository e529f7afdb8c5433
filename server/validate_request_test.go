package server

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// reqCase is one request and the code validateRequest answers (OK: it
// passes) with a part of the message.
type reqCase struct {
	req  proto.Message
	code codes.Code
	want string
}

func ok(req proto.Message) reqCase { return reqCase{req: req} }

func bad(req proto.Message, want string) reqCase {
	return reqCase{req: req, code: codes.InvalidArgument, want: want}
}

func goodPod() *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"},
		Linux:    &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{}}},
	}
}

func goodCtr() *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: "busybox"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}},
	}
}

var img = &runtimeapi.ImageSpec{Image: "busybox"}

// everyRequest has, per request type of both CRI services, a request
// that passes and each way the request alone can be wrong.
var everyRequest = []reqCase{
	ok(&runtimeapi.VersionRequest{}), ok(&runtimeapi.StatusRequest{}), ok(&runtimeapi.RuntimeConfigRequest{}),
	ok(&runtimeapi.UpdateRuntimeConfigRequest{}), ok(&runtimeapi.GetEventsRequest{}),
	ok(&runtimeapi.ListPodSandboxRequest{}), ok(&runtimeapi.StreamPodSandboxesRequest{}),
	ok(&runtimeapi.ListContainersRequest{}), ok(&runtimeapi.StreamContainersRequest{}),
	ok(&runtimeapi.ListContainerStatsRequest{}), ok(&runtimeapi.StreamContainerStatsRequest{}),
	ok(&runtimeapi.ListPodSandboxStatsRequest{}), ok(&runtimeapi.StreamPodSandboxStatsRequest{}),
	ok(&runtimeapi.ListMetricDescriptorsRequest{}), ok(&runtimeapi.ListPodSandboxMetricsRequest{}),
	ok(&runtimeapi.StreamPodSandboxMetricsRequest{}), ok(&runtimeapi.ListImagesRequest{}),
	ok(&runtimeapi.StreamImagesRequest{}), ok(&runtimeapi.ImageFsInfoRequest{}),
	// Unimplemented RPCs answer Unimplemented whatever they carry.
	ok(&runtimeapi.CheckpointContainerRequest{}), ok(&runtimeapi.CheckpointPodRequest{}), ok(&runtimeapi.RestorePodRequest{}),

	ok(&runtimeapi.RunPodSandboxRequest{Config: goodPod()}),
	bad(&runtimeapi.RunPodSandboxRequest{}, "config is required"),
	bad(&runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{
		Resources: &runtimeapi.LinuxContainerResources{CpuShares: -1}}}}, "config.linux.resources.cpu_shares"),
	bad(&runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{
		Overhead: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}}}}, "config.linux.overhead.memory_limit_in_bytes"),
	ok(&runtimeapi.StopPodSandboxRequest{PodSandboxId: "p"}), bad(&runtimeapi.StopPodSandboxRequest{}, "pod_sandbox_id is required"),
	ok(&runtimeapi.RemovePodSandboxRequest{PodSandboxId: "p"}), bad(&runtimeapi.RemovePodSandboxRequest{}, "pod_sandbox_id is required"),
	ok(&runtimeapi.PodSandboxStatusRequest{PodSandboxId: "p"}), bad(&runtimeapi.PodSandboxStatusRequest{}, "pod_sandbox_id is required"),
	ok(&runtimeapi.PodSandboxStatsRequest{PodSandboxId: "p"}), bad(&runtimeapi.PodSandboxStatsRequest{}, "pod_sandbox_id is required"),
	ok(&runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: "p"}),
	bad(&runtimeapi.UpdatePodSandboxResourcesRequest{}, "pod_sandbox_id is required"),
	bad(&runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: "p", Resources: &runtimeapi.LinuxContainerResources{CpuPeriod: -1}}, "resources.cpu_period"),
	bad(&runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: "p", Overhead: &runtimeapi.LinuxContainerResources{CpuShares: -1}}, "overhead.cpu_shares"),
	ok(&runtimeapi.PortForwardRequest{PodSandboxId: "p", Port: []int32{80}}),
	bad(&runtimeapi.PortForwardRequest{Port: []int32{80}}, "pod_sandbox_id is required"),
	bad(&runtimeapi.PortForwardRequest{PodSandboxId: "p", Port: []int32{0}}, "port 0 is out of range"),
	bad(&runtimeapi.PortForwardRequest{PodSandboxId: "p", Port: []int32{65536}}, "port 65536 is out of range"),

	ok(&runtimeapi.CreateContainerRequest{PodSandboxId: "p", Config: goodCtr()}),
	bad(&runtimeapi.CreateContainerRequest{Config: goodCtr()}, "pod_sandbox_id is required"),
	bad(&runtimeapi.CreateContainerRequest{PodSandboxId: "p"}, "config is required"),
	ok(&runtimeapi.StartContainerRequest{ContainerId: "c"}), bad(&runtimeapi.StartContainerRequest{}, "container_id is required"),
	ok(&runtimeapi.StopContainerRequest{ContainerId: "c", Timeout: 0}), bad(&runtimeapi.StopContainerRequest{}, "container_id is required"),
	bad(&runtimeapi.StopContainerRequest{ContainerId: "c", Timeout: -1}, "timeout must not be negative"),
	ok(&runtimeapi.RemoveContainerRequest{ContainerId: "c"}), bad(&runtimeapi.RemoveContainerRequest{}, "container_id is required"),
	ok(&runtimeapi.ContainerStatusRequest{ContainerId: "c"}), bad(&runtimeapi.ContainerStatusRequest{}, "container_id is required"),
	ok(&runtimeapi.ContainerStatsRequest{ContainerId: "c"}), bad(&runtimeapi.ContainerStatsRequest{}, "container_id is required"),
	ok(&runtimeapi.ReopenContainerLogRequest{ContainerId: "c"}), bad(&runtimeapi.ReopenContainerLogRequest{}, "container_id is required"),
	ok(&runtimeapi.UpdateContainerResourcesRequest{ContainerId: "c"}),
	bad(&runtimeapi.UpdateContainerResourcesRequest{}, "container_id is required"),
	bad(&runtimeapi.UpdateContainerResourcesRequest{ContainerId: "c", Linux: &runtimeapi.LinuxContainerResources{CpuQuota: 5}}, "linux.cpu_quota"),
	ok(&runtimeapi.ExecSyncRequest{ContainerId: "c", Cmd: []string{"true"}}),
	bad(&runtimeapi.ExecSyncRequest{Cmd: []string{"true"}}, "container_id is required"),
	bad(&runtimeapi.ExecSyncRequest{ContainerId: "c", Cmd: []string{"true"}, Timeout: -1}, "timeout must not be negative"),
	bad(&runtimeapi.ExecSyncRequest{ContainerId: "c"}, "cmd is required"),
	ok(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}, Stdout: true}),
	bad(&runtimeapi.ExecRequest{Cmd: []string{"sh"}, Stdout: true}, "container_id is required"),
	bad(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{""}, Stdout: true}, "cmd is required"),
	bad(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}}, "one of stdin, stdout or stderr"),
	bad(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}, Tty: true, Stderr: true}, "tty and stderr"),
	ok(&runtimeapi.AttachRequest{ContainerId: "c", Stdin: true}),
	bad(&runtimeapi.AttachRequest{Stdin: true}, "container_id is required"),
	bad(&runtimeapi.AttachRequest{ContainerId: "c"}, "one of stdin, stdout or stderr"),
	bad(&runtimeapi.AttachRequest{ContainerId: "c", Tty: true, Stderr: true}, "tty and stderr"),

	ok(&runtimeapi.PullImageRequest{Image: img}), bad(&runtimeapi.PullImageRequest{}, "image.image is required"),
	ok(&runtimeapi.ImageStatusRequest{Image: img}), bad(&runtimeapi.ImageStatusRequest{}, "image.image is required"),
	ok(&runtimeapi.RemoveImageRequest{Image: img}), bad(&runtimeapi.RemoveImageRequest{}, "image.image is required"),
}

func checkCases(t *testing.T, cases []reqCase) {
	t.Helper()
	for _, c := range cases {
		err := validateRequest(c.req)
		name := string(c.req.ProtoReflect().Descriptor().Name())
		if got := status.Code(toStatus(err)); got != c.code || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s %v: %v (%v), want %v naming %q", name, c.req, got, err, c.code, c.want)
		}
	}
}

func TestValidateEveryRequest(t *testing.T) {
	checkCases(t, everyRequest)
	seen := map[protoreflect.FullName]bool{}
	for _, c := range everyRequest {
		if c.code == codes.OK {
			seen[c.req.ProtoReflect().Descriptor().FullName()] = true
		}
	}
	// Every RPC of both services has a passing request in the table.
	svcs := runtimeapi.File_staging_src_k8s_io_cri_api_pkg_apis_runtime_v1_api_proto.Services()
	for i := 0; i < svcs.Len(); i++ {
		ms := svcs.Get(i).Methods()
		for j := 0; j < ms.Len(); j++ {
			if in := ms.Get(j).Input().FullName(); !seen[in] {
				t.Errorf("%s: no case for %s", ms.Get(j).FullName(), in)
			}
		}
	}
}

// The registered services check requests inside the interceptor chain:
// interceptors (the metrics) see a refused request's error.
func TestRegisteredServicesValidate(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	seen := make(chan error, 2)
	g := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		seen <- err
		return resp, toStatus(err)
	}))
	(&Server{}).Register(g) // a zero Server: a refused request reaches no field of it
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	_, err = runtimeapi.NewRuntimeServiceClient(conn).StopContainer(ctx, &runtimeapi.StopContainerRequest{})
	if status.Code(err) != codes.InvalidArgument || status.Code(toStatus(<-seen)) != codes.InvalidArgument {
		t.Errorf("StopContainer without an id: %v", err)
	}
	_, err = runtimeapi.NewImageServiceClient(conn).ImageStatus(ctx, &runtimeapi.ImageStatusRequest{})
	if status.Code(err) != codes.InvalidArgument || status.Code(toStatus(<-seen)) != codes.InvalidArgument {
		t.Errorf("ImageStatus without an image: %v", err)
	}
}
