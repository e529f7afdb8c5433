package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// badCase is one malformed request: the code it must get and a word of the
// message (the field it names).
type badCase struct {
	name  string
	code  codes.Code
	field string
}

func checkBad(t *testing.T, tc badCase, err error) {
	t.Helper()
	if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.field) {
		t.Errorf("%s: %v, want %v naming %q", tc.name, err, tc.code, tc.field)
	}
}

// TestBadPodInput sends malformed RunPodSandbox requests: each is refused
// with InvalidArgument naming the field, and leaves no pod and no file.
func TestBadPodInput(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	mb := strings.Repeat("a", 1<<20)
	pm := func(mut func(*runtimeapi.PortMapping)) func(*runtimeapi.PodSandboxConfig) {
		return func(c *runtimeapi.PodSandboxConfig) {
			p := &runtimeapi.PortMapping{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080}
			mut(p)
			c.PortMappings = []*runtimeapi.PortMapping{p}
		}
	}
	dns := func(servers, searches, options []string) func(*runtimeapi.PodSandboxConfig) {
		return func(c *runtimeapi.PodSandboxConfig) {
			c.DnsConfig = &runtimeapi.DNSConfig{Servers: servers, Searches: searches, Options: options}
		}
	}
	for _, tc := range []struct {
		badCase
		mut func(*runtimeapi.PodSandboxConfig)
	}{
		{badCase{"1 MB name", codes.InvalidArgument, "metadata.name"}, func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = mb }},
		{badCase{"1 MB namespace", codes.InvalidArgument, "metadata.namespace"}, func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Namespace = mb }},
		{badCase{"newline in name", codes.InvalidArgument, "metadata.name"}, func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "a\nb" }},
		{badCase{"port 70000", codes.InvalidArgument, "port_mappings[0].host_port"}, pm(func(p *runtimeapi.PortMapping) { p.HostPort = 70000 })},
		{badCase{"container port 70000", codes.InvalidArgument, "port_mappings[0].container_port"}, pm(func(p *runtimeapi.PortMapping) { p.ContainerPort = 70000 })},
		{badCase{"negative host port", codes.InvalidArgument, "port_mappings[0].host_port"}, pm(func(p *runtimeapi.PortMapping) { p.HostPort = -1 })},
		{badCase{"negative container port", codes.InvalidArgument, "port_mappings[0].container_port"}, pm(func(p *runtimeapi.PortMapping) { p.ContainerPort = -80 })},
		{badCase{"protocol 99", codes.InvalidArgument, "port_mappings[0].protocol"}, pm(func(p *runtimeapi.PortMapping) { p.Protocol = 99 })},
		{badCase{"host_ip not an ip", codes.InvalidArgument, "port_mappings[0].host_ip"}, pm(func(p *runtimeapi.PortMapping) { p.HostIp = "not-an-ip" })},
		{badCase{"5000-char cgroup_parent", codes.InvalidArgument, "cgroup_parent"}, func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "/" + strings.Repeat("x", 5000) }},
		{badCase{"NUL in cgroup_parent", codes.InvalidArgument, "cgroup_parent"}, func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "/kubepods\x00x" }},
		{badCase{"NUL in log_directory", codes.InvalidArgument, "log_directory"}, func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "/var/log/pods/x\x00y" }},
		{badCase{"network mode 99", codes.InvalidArgument, "namespace_options.network"}, func(c *runtimeapi.PodSandboxConfig) { c.Linux.SecurityContext.NamespaceOptions.Network = 99 }},
		{badCase{"pid mode 99", codes.InvalidArgument, "namespace_options.pid"}, func(c *runtimeapi.PodSandboxConfig) { c.Linux.SecurityContext.NamespaceOptions.Pid = 99 }},
		{badCase{"dns server newline", codes.InvalidArgument, "dns_config.servers[0]"}, dns([]string{"10.0.0.10\nnameserver 6.6.6.6"}, nil, nil)},
		{badCase{"dns search newline", codes.InvalidArgument, "dns_config.searches[1]"}, dns(nil, []string{"ok.example", "x\nnameserver 6.6.6.6"}, nil)},
		{badCase{"dns option carriage return", codes.InvalidArgument, "dns_config.options[0]"}, dns(nil, nil, []string{"ndots:5\rnameserver 6.6.6.6"})},
		{badCase{"dns server tab", codes.InvalidArgument, "dns_config.servers[0]"}, dns([]string{"10.0.0.10\t6.6.6.6"}, nil, nil)},
		{badCase{"hostname with slash", codes.InvalidArgument, "hostname"}, func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "a/b" }},
		{badCase{"hostname of 65 bytes", codes.InvalidArgument, "hostname"}, func(c *runtimeapi.PodSandboxConfig) { c.Hostname = strings.Repeat("h", 65) }},
		{badCase{"hostname with newline", codes.InvalidArgument, "hostname"}, func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "h\n6.6.6.6 evil" }},
		{badCase{"NUL in a label", codes.InvalidArgument, "labels"}, func(c *runtimeapi.PodSandboxConfig) { c.Labels = map[string]string{"a": "b\x00"} }},
		{badCase{"no such sysctl", codes.InvalidArgument, "sysctls[net.ipv4.no_such_sysctl]"}, func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.Sysctls = map[string]string{"net.ipv4.no_such_sysctl": "1"}
		}},
		{badCase{"negative overhead", codes.InvalidArgument, "config.linux.overhead.memory_limit_in_bytes"}, func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.Overhead = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}
		}},
		{badCase{"CNI_ARGS injection", codes.InvalidArgument, "metadata.namespace"}, func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Namespace = "x;K8S_POD_NAME=other" }},
	} {
		cfg := framework.PodConfig("bad-pod")
		tc.mut(cfg)
		_, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		checkBad(t, tc.badCase, err)
	}
	list, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.Items) != 0 {
		t.Errorf("refused pods were stored: %v %v", list, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(d.Dir, "state", "pods")); len(entries) != 0 {
		t.Errorf("refused pods left records: %v", entries)
	}
	// Nothing reached a resolv.conf (or any other file) of the daemon.
	_ = filepath.WalkDir(d.Dir, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && de.Type().IsRegular() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), "6.6.6.6") {
				t.Errorf("%s holds the injected line: %q", p, data)
			}
		}
		return nil
	})
}

// TestBadContainerInput sends malformed CreateContainer and
// UpdateContainerResources requests in a good pod.
func TestBadContainerInput(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "bad-ctr")
	ctx := framework.Ctx(t)
	n := 0
	good := func(mut func(*runtimeapi.ContainerConfig)) *runtimeapi.ContainerConfig {
		n++ // a name each, so one wrongly accepted case does not hide the next
		c := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c" + itoa(n)}, Image: &runtimeapi.ImageSpec{Image: e.image},
			Command: []string{"sleep", "3600"}, LogPath: "c.log",
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}}},
		}
		mut(c)
		return c
	}
	for _, tc := range []struct {
		badCase
		cfg *runtimeapi.ContainerConfig
	}{
		{badCase{"NUL in log_path", codes.InvalidArgument, "log_path"}, good(func(c *runtimeapi.ContainerConfig) { c.LogPath = "c\x00.log" })},
		{badCase{"NUL in command", codes.InvalidArgument, "command[1]"}, good(func(c *runtimeapi.ContainerConfig) { c.Command = []string{"sleep", "36\x0000"} })},
		{badCase{"NUL in args", codes.InvalidArgument, "args[0]"}, good(func(c *runtimeapi.ContainerConfig) { c.Args = []string{"\x00"} })},
		{badCase{"NUL in env", codes.InvalidArgument, "envs[0].value"}, good(func(c *runtimeapi.ContainerConfig) {
			c.Envs = []*runtimeapi.KeyValue{{Key: "A", Value: []byte("x\x00y")}}
		})},
		{badCase{"NUL in working_dir", codes.InvalidArgument, "working_dir"}, good(func(c *runtimeapi.ContainerConfig) { c.WorkingDir = "/\x00" })},
		{badCase{"NUL in a mount path", codes.InvalidArgument, "mounts[0].container_path"}, good(func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/m\x00", HostPath: "/tmp"}}
		})},
		{badCase{"negative cpu_shares", codes.InvalidArgument, "cpu_shares"}, good(func(c *runtimeapi.ContainerConfig) {
			c.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: -1}
		})},
		{badCase{"pid mode 99", codes.InvalidArgument, "namespace_options.pid"}, good(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.NamespaceOptions.Pid = 99
		})},
		{badCase{"TARGET unknown container", codes.NotFound, "nosuchcontainer"}, good(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "nosuchcontainer"}
		})},
		{badCase{"privileged in an unprivileged pod", codes.InvalidArgument, "privileged"}, good(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.Privileged = true
		})},
		{badCase{"CDI device name not qualified", codes.InvalidArgument, "config.cdi_devices[0].name"}, good(func(c *runtimeapi.ContainerConfig) {
			c.CDIDevices = []*runtimeapi.CDIDevice{{Name: "gpu0"}}
		})},
	} {
		_, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: tc.cfg, SandboxConfig: podCfg})
		checkBad(t, tc.badCase, err)
	}
	list, err := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(list.Containers) != 0 {
		t.Errorf("refused containers were stored: %v %v", list, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.d.Dir, "state", "containers")); len(entries) != 0 {
		t.Errorf("refused containers left records: %v", entries)
	}

	id := e.create(t, podID, podCfg, "upd", "sleep", "3600")
	e.start(t, id)
	for _, tc := range []struct {
		badCase
		res *runtimeapi.LinuxContainerResources
	}{
		{badCase{"negative cpu_shares", codes.InvalidArgument, "cpu_shares"}, &runtimeapi.LinuxContainerResources{CpuShares: -2}},
		{badCase{"negative memory", codes.InvalidArgument, "memory_limit_in_bytes"}, &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -5}},
		{badCase{"cpu_quota -5", codes.InvalidArgument, "cpu_quota"}, &runtimeapi.LinuxContainerResources{CpuQuota: -5}},
		{badCase{"cpuset zz", codes.InvalidArgument, "cpuset_cpus"}, &runtimeapi.LinuxContainerResources{CpusetCpus: "zz"}},
		{badCase{"cpuset_mems zz", codes.InvalidArgument, "cpuset_mems"}, &runtimeapi.LinuxContainerResources{CpusetMems: "zz"}},
		{badCase{"unknown unified key", codes.InvalidArgument, "unified"}, &runtimeapi.LinuxContainerResources{Unified: map[string]string{"bogus.key": "1"}}},
		{badCase{"cgroup.procs via unified", codes.InvalidArgument, "unified"}, &runtimeapi.LinuxContainerResources{Unified: map[string]string{"cgroup.procs": "1"}}},
	} {
		_, err := e.d.Runtime.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id, Linux: tc.res})
		checkBad(t, tc.badCase, err)
	}
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container after refused updates: %v", st.State)
	}
	// A TARGET naming a known, running container joins its PID namespace.
	tcfg := good(func(c *runtimeapi.ContainerConfig) {
		c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: id[:12]}
	})
	resp, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: tcfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("TARGET a running container: %v", err)
	}
	e.start(t, resp.ContainerId)
	if out, _, _ := e.exec(t, resp.ContainerId, "cat", "/proc/1/cmdline"); out != "sleep\x003600\x00" {
		t.Errorf("pid 1 seen from the TARGET container: %q", out)
	}
}

// TestPodResourcesInPodRecord: the resources RunPodSandbox (and
// UpdatePodSandboxResources) gives a pod are kept in the pod's record and
// go with it; a separate record an older daemon wrote is moved into the
// pod record at start.
func TestPodResourcesInPodRecord(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	cfg := framework.PodConfig("podres")
	cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: 512}
	id, _ := runPod(t, d, cfg)
	podRec := filepath.Join(d.Dir, "state", "pods", id+".json")
	res := podResourcesOf(t, podRec)
	if !strings.Contains(string(res), `"cpuShares":"512"`) {
		t.Fatalf("pod record resources %s, want cpuShares 512", res)
	}
	// What an older daemon kept: the resources in a record of their own.
	d.Stop()
	var rec map[string]json.RawMessage
	data, err := os.ReadFile(podRec)
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(map[string]any{"podId": id, "resources": json.RawMessage(`{"cpuShares":"256"}`), "applied": true, "updatedAt": 1})
	delete(rec, "podResources")
	data, _ = json.Marshal(rec)
	oldRec := filepath.Join(d.Dir, "state", "pod-resources", id+".json")
	if err := os.WriteFile(podRec, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(oldRec), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldRec, old, 0o600); err != nil {
		t.Fatal(err)
	}
	d.Start()
	if res := podResourcesOf(t, podRec); !strings.Contains(string(res), `"cpuShares":"256"`) {
		t.Errorf("pod record resources after the upgrade %s, want the old record's", res)
	}
	if _, err := os.Stat(oldRec); !os.IsNotExist(err) {
		t.Errorf("old pod-resources record left after the upgrade: %v", err)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id[:12]}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(podRec); !os.IsNotExist(err) {
		t.Errorf("pod record outlived its pod: %v", err)
	}
}

// podResourcesOf reads the podResources of a pod record.
func podResourcesOf(t *testing.T, path string) json.RawMessage {
	t.Helper()
	var rec struct {
		Res json.RawMessage `json:"podResources"`
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		t.Fatalf("pod record: %v", err)
	}
	return rec.Res
}

// TestKernelHostnames: CRI-O's test pods use hostnames that are not RFC
// 1123 names; the kernel takes them, and so do we.
func TestKernelHostnames(t *testing.T) {
	e := newEnv(t, registry.Image{})
	cfg := framework.PodConfig("crictl-pod")
	cfg.Hostname = "crictl_host"
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "crictl")
	cfg.Labels = map[string]string{"Any Label": "any value, even this one!"}
	cfg.Annotations = map[string]string{"owner": "Alice <alice@example.com>"}
	podID, _ := runPod(t, e.d, cfg)
	id := e.create(t, podID, cfg, "c", "sleep", "3600")
	e.start(t, id)
	if out, _, code := e.exec(t, id, "hostname"); code != 0 || strings.TrimSpace(out) != "crictl_host" {
		t.Errorf("hostname in the container: %q (exit %d)", out, code)
	}
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container state %v", st.State)
	}
	// An lxcfs-style file over /proc/uptime, as runc allows.
	uptime := filepath.Join(e.d.Dir, "uptime")
	if err := os.WriteFile(uptime, []byte("12345.00 0.00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lx := e.createWith(t, podID, cfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "lxcfs"}, Command: []string{"sleep", "3600"},
		Mounts: []*runtimeapi.Mount{{ContainerPath: "/proc/uptime", HostPath: uptime, Readonly: true}},
	})
	if out, _, _ := e.exec(t, lx, "cat", "/proc/uptime"); out != "12345.00 0.00\n" {
		t.Errorf("/proc/uptime in the container: %q", out)
	}
	// The longest the kernel takes: 64 bytes, upper case and all.
	long := framework.PodConfig("long-host")
	long.Hostname = "Host_" + strings.Repeat("x", 59)
	runPod(t, e.d, long)
}
