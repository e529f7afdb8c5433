package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestValidatePodConfig(t *testing.T) {
	if err := validateRequest(&runtimeapi.RunPodSandboxRequest{Config: goodPod()}); err != nil {
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
		"bad hostname":     {func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "a/b" }, codes.InvalidArgument, "hostname"},
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
		"sysctl escape":  {func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"net/../../etc": "1"} }, codes.InvalidArgument, "invalid sysctl"},
		"bad bandwidth": {func(c *runtimeapi.PodSandboxConfig) {
			c.Annotations = map[string]string{"kubernetes.io/egress-bandwidth": "lots"}
		}, codes.InvalidArgument, "egress-bandwidth"},
		"long name":          {func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = strings.Repeat("n", 254) }, codes.InvalidArgument, "metadata.name"},
		"long namespace":     {func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Namespace = strings.Repeat("n", 1<<20) }, codes.InvalidArgument, "metadata.namespace"},
		"cni args injection": {func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "a;K8S_POD_NAMESPACE=kube-system" }, codes.InvalidArgument, "metadata.name"},
		"newline in uid":     {func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Uid = "u\n" }, codes.InvalidArgument, "metadata.uid"},
		"hostname 65 bytes":  {func(c *runtimeapi.PodSandboxConfig) { c.Hostname = strings.Repeat("h", 65) }, codes.InvalidArgument, "hostname"},
		"hostname newline":   {func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "a\nb" }, codes.InvalidArgument, "hostname"},
		"log dir NUL":        {func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "/a\x00" }, codes.InvalidArgument, "log_directory"},
		"dns server newline": {func(c *runtimeapi.PodSandboxConfig) {
			c.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"1.1.1.1", "2.2.2.2\nnameserver 6.6.6.6"}}
		}, codes.InvalidArgument, "dns_config.servers[1]"},
		"dns search DEL": {func(c *runtimeapi.PodSandboxConfig) {
			c.DnsConfig = &runtimeapi.DNSConfig{Searches: []string{"a\x7f"}}
		}, codes.InvalidArgument, "dns_config.searches[0]"},
		"dns option tab": {func(c *runtimeapi.PodSandboxConfig) {
			c.DnsConfig = &runtimeapi.DNSConfig{Options: []string{"ndots:2\tx"}}
		}, codes.InvalidArgument, "dns_config.options[0]"},
		"port 70000": {func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 70000}}
		}, codes.InvalidArgument, "port_mappings[0].host_port"},
		"negative container port": {func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: -1}}
		}, codes.InvalidArgument, "port_mappings[0].container_port"},
		"host port without container port": {func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{HostPort: 80}}
		}, codes.InvalidArgument, "container_port"},
		"protocol 99": {func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, Protocol: 99}}
		}, codes.InvalidArgument, "port_mappings[0].protocol"},
		"host ip": {func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80, HostIp: "not-an-ip"}}
		}, codes.InvalidArgument, "host_ip"},
		"cgroup parent 5000": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.CgroupParent = "/" + strings.Repeat("x/", 2500)
		}, codes.InvalidArgument, "cgroup_parent"},
		"cgroup parent long component": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.CgroupParent = "/" + strings.Repeat("x", 256)
		}, codes.InvalidArgument, "cgroup_parent"},
		"cgroup parent NUL": {func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "/a\x00b" }, codes.InvalidArgument, "cgroup_parent"},
		"ipc mode 99": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.NamespaceOptions.Ipc = 99
		}, codes.InvalidArgument, "namespace_options.ipc"},
		"userns mode 99": {func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{Mode: 99}
		}, codes.InvalidArgument, "userns_options.mode"},
		"sysctl slash escape": {func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"net.ipv4.conf.//.x": "1"} }, codes.InvalidArgument, "invalid sysctl"},
	} {
		c := goodPod()
		tc.mut(c)
		err := validateRequest(&runtimeapi.RunPodSandboxRequest{Config: c})
		if status.Code(toStatus(err)) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %v naming %q", name, err, tc.code, tc.want)
		}
	}
}

// TestValidatePodConfigAcceptsWhatCRIOAccepts: harmless input the kernel
// and CRI-O take is not refused.
func TestValidatePodConfigAcceptsWhatCRIOAccepts(t *testing.T) {
	for name, mut := range map[string]func(*runtimeapi.PodSandboxConfig){
		"underscore hostname": func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "crictl_host" },
		"64-byte hostname":    func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "A" + strings.Repeat("b", 63) },
		"odd hostname":        func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "Web Server #1!" },
		"upper case name":     func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "My_Pod.v2" },
		"ports": func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 65535, HostIp: "::1", Protocol: runtimeapi.Protocol_SCTP}, {ContainerPort: 53, Protocol: runtimeapi.Protocol_UDP}}
		},
		"dns": func(c *runtimeapi.PodSandboxConfig) {
			c.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"svc.cluster.local"}, Options: []string{"ndots:5", "edns0"}}
		},
		"interface sysctl": func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.Sysctls = map[string]string{"net.ipv4.conf.Eth0/100.forwarding": "1", "net/ipv6/conf/br-x.1/disable_ipv6": "1"}
		},
		"uts sysctl": func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.Sysctls = map[string]string{"kernel.domainname": "example"}
		},
		"cgroup parent": func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "/kubepods/burstable/pod_1.2" },
		"log directory": func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "/var/log/pods/ns_name_uid" },
		"odd annotation": func(c *runtimeapi.PodSandboxConfig) {
			c.Annotations = map[string]string{"Any Key!": "multi\nline value"}
		},
	} {
		c := goodPod()
		mut(c)
		if err := validateRequest(&runtimeapi.RunPodSandboxRequest{Config: c}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
