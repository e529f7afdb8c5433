package sandbox

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func podCfg() *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"},
		Linux:    &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{}}},
	}
}

func TestValidateConfig(t *testing.T) {
	if err := ValidateConfig(podCfg()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, tc := range map[string]struct {
		mut  func(*runtimeapi.PodSandboxConfig)
		code codes.Code
		want string
	}{
		"nil metadata":     {func(c *runtimeapi.PodSandboxConfig) { c.Metadata = nil }, codes.InvalidArgument, "metadata"},
		"no uid":           {func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Uid = "" }, codes.InvalidArgument, "metadata.uid"},
		"slash in name":    {func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "a/b" }, codes.InvalidArgument, "metadata.name"},
		"bad hostname":     {func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "UPPER_case" }, codes.InvalidArgument, "hostname"},
		"relative log dir": {func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "logs" }, codes.InvalidArgument, "log_directory"},
		"container net mode": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_CONTAINER
		}, codes.InvalidArgument, "network"},
		"target pid": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_TARGET
		}, codes.InvalidArgument, "pid"},
		"userns": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}
		}, codes.Unimplemented, "user namespaces"},
		"not namespaced": {func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"vm.swappiness": "1"} }, codes.InvalidArgument, "vm.swappiness"},
		"net sysctl on host": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
			c.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
		}, codes.InvalidArgument, "hostNetwork"},
		"ipc sysctl on host": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.Sysctls = map[string]string{"kernel.shmmax": "1"}
			c.Linux.SecurityContext.NamespaceOptions.Ipc = runtimeapi.NamespaceMode_NODE
		}, codes.InvalidArgument, "hostIPC"},
		"sysctl escape": {func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"net/../../etc": "1"} }, codes.InvalidArgument, "invalid sysctl"},
		"bad bandwidth": {func(c *runtimeapi.PodSandboxConfig) {
			c.Annotations = map[string]string{"kubernetes.io/egress-bandwidth": "lots"}
		}, codes.InvalidArgument, "egress-bandwidth"},
	} {
		c := podCfg()
		tc.mut(c)
		err := ValidateConfig(c)
		if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %v naming %q", name, err, tc.code, tc.want)
		}
	}
}

func TestSortSysctlsAndHostname(t *testing.T) {
	got, err := SortSysctls(map[string]string{"net/ipv4/ip_forward": "1", "kernel.shmmni": "10"}, &runtimeapi.NamespaceOption{})
	if err != nil || got["net.ipv4.ip_forward"] != "1" || got["kernel.shmmni"] != "10" {
		t.Errorf("sysctls: %v %v", got, err)
	}
	c := podCfg()
	if h := Hostname(c, "node1"); h != "web" {
		t.Errorf("pod name as hostname: %q", h)
	}
	c.Hostname = "explicit"
	if h := Hostname(c, "node1"); h != "explicit" {
		t.Errorf("explicit hostname: %q", h)
	}
	c.Hostname = ""
	c.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	if h := Hostname(c, "node1"); h != "node1" {
		t.Errorf("host network hostname: %q", h)
	}
}
