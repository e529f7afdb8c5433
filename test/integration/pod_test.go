package integration

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
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
)

func runPod(t *testing.T, d *framework.Daemon, cfg *runtimeapi.PodSandboxConfig) (string, *runtimeapi.PodSandboxStatus) {
	t.Helper()
	ctx := framework.Ctx(t)
	resp, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	return resp.PodSandboxId, st.Status
}

func netnsPath(d *framework.Daemon, id string) string {
	return filepath.Join(d.NamespacesDir(), "netns", id)
}

// serveOnce listens on port inside the netns and answers one line.
func serveOnce(t *testing.T, netns string, port string) {
	t.Helper()
	var l net.Listener
	if err := framework.InNetNS(netns, func() (err error) {
		l, err = net.Listen("tcp", ":"+port)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "hello from pod\n")
			c.Close()
		}
	}()
}

func readLine(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	return strings.TrimSpace(line)
}

func TestPodsGetDistinctIPsAndReachEachOther(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	idA, stA := runPod(t, d, framework.PodConfig("pod-a"))
	idB, stB := runPod(t, d, framework.PodConfig("pod-b"))
	ipA, ipB := stA.Network.Ip, stB.Network.Ip
	_, subnet, _ := net.ParseCIDR(d.Subnet)
	if ipA == "" || ipA == ipB || !subnet.Contains(net.ParseIP(ipA)) || !subnet.Contains(net.ParseIP(ipB)) {
		t.Fatalf("pod IPs %q and %q, want distinct addresses in %s", ipA, ipB, d.Subnet)
	}
	if stA.State != runtimeapi.PodSandboxState_SANDBOX_READY || stA.Metadata.Name != "pod-a" || stA.Labels["app"] != "pod-a" {
		t.Errorf("status: %+v", stA)
	}
	serveOnce(t, netnsPath(d, idA), "8080")
	var got string
	if err := framework.InNetNS(netnsPath(d, idB), func() error {
		got = readLine(t, net.JoinHostPort(ipA, "8080"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != "hello from pod" {
		t.Errorf("pod b read %q from pod a", got)
	}
	// The pinned namespaces are where operators look for them.
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err == nil && strings.Contains(string(out), idA) {
		t.Log("pod netns visible to ip netns (default namespaces_dir only)")
	}
	_ = idB
}

func TestHostPortMapsToPod(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := framework.PodConfig("ports")
	cfg.PortMappings = []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: int32(hostPort), HostIp: "127.0.0.1"}}
	id, _ := runPod(t, d, cfg)
	serveOnce(t, netnsPath(d, id), "8080")
	if got := readLine(t, net.JoinHostPort("127.0.0.1", itoa(hostPort))); got != "hello from pod" {
		t.Errorf("through the host port: %q", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestPodFilesHostnameDNSAndSysctls(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	cfg := framework.PodConfig("files")
	cfg.Hostname = "my-host"
	cfg.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"ns.svc.cluster.local", "svc.cluster.local"}, Options: []string{"ndots:5"}}
	cfg.Linux.Sysctls = map[string]string{"net.ipv4.ping_group_range": "0 2147483647", "kernel.shmmni": "1234"}
	id, st := runPod(t, d, cfg)
	info, err := d.Runtime.PodSandboxStatus(framework.Ctx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := between(info.Info["info"], `"dir":"`, `"`)
	resolv, _ := os.ReadFile(filepath.Join(dir, "resolv.conf"))
	if want := "nameserver 10.0.0.10\nsearch ns.svc.cluster.local svc.cluster.local\noptions ndots:5\n"; string(resolv) != want {
		t.Errorf("resolv.conf %q, want %q", resolv, want)
	}
	hosts, _ := os.ReadFile(filepath.Join(dir, "hosts"))
	if !strings.Contains(string(hosts), "127.0.0.1\tlocalhost") || !strings.Contains(string(hosts), st.Network.Ip+"\tmy-host") {
		t.Errorf("hosts:\n%s", hosts)
	}
	if h, _ := os.ReadFile(filepath.Join(dir, "hostname")); string(h) != "my-host\n" {
		t.Errorf("hostname file %q", h)
	}
	uts := filepath.Join(d.NamespacesDir(), "utsns", id)
	if out, err := exec.Command("nsenter", "--uts="+uts, "hostname").Output(); err != nil || strings.TrimSpace(string(out)) != "my-host" {
		t.Errorf("hostname in the pod's UTS namespace: %q %v", out, err)
	}
	if out, err := exec.Command("nsenter", "--net="+netnsPath(d, id), "cat", "/proc/sys/net/ipv4/ping_group_range").Output(); err != nil || strings.Join(strings.Fields(string(out)), " ") != "0 2147483647" {
		t.Errorf("net sysctl in the pod: %q %v", out, err)
	}
	ipc := filepath.Join(d.NamespacesDir(), "ipcns", id)
	if out, err := exec.Command("nsenter", "--ipc="+ipc, "cat", "/proc/sys/kernel/shmmni").Output(); err != nil || strings.TrimSpace(string(out)) != "1234" {
		t.Errorf("ipc sysctl in the pod: %q %v", out, err)
	}
	if mounts := framework.MountsUnder(filepath.Join(dir, "shm")); len(mounts) != 1 {
		t.Errorf("pod shm tmpfs: %v", mounts)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestHostNetworkPod(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	cfg := framework.PodConfig("hostnet")
	cfg.Hostname = ""
	cfg.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	id, st := runPod(t, d, cfg)
	if st.Network.Ip != "" {
		t.Errorf("host network pod got an IP from CNI: %s", st.Network.Ip)
	}
	if _, err := os.Stat(netnsPath(d, id)); !os.IsNotExist(err) {
		t.Errorf("host network pod must not get a netns: %v", err)
	}
	if st.Linux.Namespaces.Options.Network != runtimeapi.NamespaceMode_NODE {
		t.Errorf("namespace options not reported: %+v", st.Linux.Namespaces.Options)
	}
	// net.* sysctls need the pod's own netns: skipped, as CRI-O does
	// (pod_sysctl_test.go checks the details).
	cfg = framework.PodConfig("hostnet-sysctl")
	cfg.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	cfg.Linux.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	if _, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg}); err != nil {
		t.Errorf("net sysctl with host network: %v", err)
	}
}

func TestStopRemoveLeaveNothingBehind(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	id, st := runPod(t, d, framework.PodConfig("leak"))
	if _, err := os.Stat(filepath.Join(d.IPAMDir(), d.Network(), st.Network.Ip)); err != nil {
		t.Fatalf("no IP allocation recorded: %v", err)
	}
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", d.Bridge).Output(); len(strings.TrimSpace(string(out))) == 0 {
		t.Fatal("no veth on the pod bridge")
	}
	// Stop: network gone, pod still listed as NOTREADY.
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	st2, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || st2.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("after stop: %v %v", st2, err)
	}
	if _, err := os.Stat(filepath.Join(d.IPAMDir(), d.Network(), st.Network.Ip)); !os.IsNotExist(err) {
		t.Errorf("IP allocation left after stop: %v", err)
	}
	// Stop is idempotent.
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"netns", "ipcns", "utsns"} {
		if _, err := os.Stat(filepath.Join(d.NamespacesDir(), kind, id)); !os.IsNotExist(err) {
			t.Errorf("%s pin left: %v", kind, err)
		}
	}
	if m := framework.MountsUnder(d.Dir); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", d.Bridge).Output(); len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("veth left on the pod bridge: %s", out) // the bridge itself stays, like CRI-O's cni0
	}
	if out, _ := exec.Command("iptables-save").Output(); strings.Contains(string(out), id[:12]) || strings.Contains(string(out), st.Network.Ip+"/32") {
		t.Errorf("iptables rules left for the pod")
	}
	if _, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("status after remove: %v", err)
	}
	for _, rpc := range []func() error{
		func() error {
			_, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
			return err
		},
		func() error {
			_, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: "unknown"})
			return err
		},
	} {
		if err := rpc(); err != nil {
			t.Errorf("unknown ids must succeed: %v", err)
		}
	}
}

func TestFailingCNIPluginLeavesNothing(t *testing.T) {
	d := framework.NewDaemon(t, framework.Options{})
	plugins := filepath.Join(d.Dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"plugin says no\"}'; exit 1; fi\nif [ \"$CNI_COMMAND\" = VERSION ]; then echo '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}'; fi\nexit 0\n"
	if err := os.WriteFile(filepath.Join(plugins, "failer"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/lib/cni/loopback", filepath.Join(plugins, "loopback")); err != nil {
		t.Fatal(err)
	}
	conf := `{"cniVersion":"1.0.0","name":"failing","plugins":[{"type":"failer"}]}`
	if err := os.WriteFile(filepath.Join(d.Dir, "cni", "00-fail.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.ConfigDir, "10-plugins.conf"), []byte("[crio.network]\nplugin_dirs = [\""+plugins+"\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Start()
	_, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: framework.PodConfig("fail")})
	if err == nil || !strings.Contains(err.Error(), "plugin says no") {
		t.Fatalf("want the plugin's message, got %v", err)
	}
	for _, kind := range []string{"netns", "ipcns", "utsns"} {
		if entries, _ := os.ReadDir(filepath.Join(d.NamespacesDir(), kind)); len(entries) != 0 {
			t.Errorf("%s left: %v", kind, entries)
		}
	}
	if m := framework.MountsUnder(d.Dir); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	list, _ := d.Runtime.ListPodSandbox(framework.Ctx(t), &runtimeapi.ListPodSandboxRequest{})
	if len(list.Items) != 0 {
		t.Errorf("failed pod listed: %v", list.Items)
	}
	// The record written while ADD ran is gone too.
	if entries, _ := os.ReadDir(filepath.Join(d.Dir, "state", "pods")); len(entries) != 0 {
		t.Errorf("pod records left: %v", entries)
	}
	// The name is free again.
	cfg := framework.PodConfig("fail")
	_, err = d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if status.Code(err) == codes.AlreadyExists {
		t.Errorf("failed run kept the name reserved")
	}
}

func TestPodListFiltersNameClashAndBadInput(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	cfgA := framework.PodConfig("list-a")
	cfgA.Annotations = map[string]string{"note": "kept exactly"}
	idA, _ := runPod(t, d, cfgA)
	idB, _ := runPod(t, d, framework.PodConfig("list-b"))
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: idB}); err != nil {
		t.Fatal(err)
	}
	list := func(f *runtimeapi.PodSandboxFilter) []string {
		resp, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range resp.Items {
			ids = append(ids, p.Id)
		}
		return ids
	}
	if got := list(nil); len(got) != 2 {
		t.Errorf("all: %v", got)
	}
	if got := list(&runtimeapi.PodSandboxFilter{Id: idA[:10]}); len(got) != 1 || got[0] != idA {
		t.Errorf("by id prefix: %v", got)
	}
	if got := list(&runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}}); len(got) != 1 || got[0] != idB {
		t.Errorf("by state: %v", got)
	}
	if got := list(&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "list-a"}}); len(got) != 1 || got[0] != idA {
		t.Errorf("by label: %v", got)
	}
	st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: idA[:12]})
	if err != nil || st.Status.Id != idA || st.Status.Annotations["note"] != "kept exactly" {
		t.Errorf("status by prefix: %v %v", st, err)
	}
	stream, err := d.Runtime.StreamPodSandboxes(ctx, &runtimeapi.StreamPodSandboxesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil || len(msg.PodSandboxes) != 2 {
		t.Errorf("stream: %v %v", msg, err)
	}

	_, err = d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfgA})
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), idA) {
		t.Errorf("name clash: %v", err)
	}
	bad := map[string]func(*runtimeapi.PodSandboxConfig){
		"metadata":  func(c *runtimeapi.PodSandboxConfig) { c.Metadata = nil },
		"name":      func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "" },
		"hostname":  func(c *runtimeapi.PodSandboxConfig) { c.Hostname = "not/valid" },
		"sysctls":   func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"vm.swappiness": "1"} },
		"sysctl ..": func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"net/../../x": "1"} },
		"network": func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_CONTAINER
		},
		"cgroup": func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "relative/path" },
		"bandwidth": func(c *runtimeapi.PodSandboxConfig) {
			c.Annotations = map[string]string{"kubernetes.io/ingress-bandwidth": "fast"}
		},
	}
	for name, mut := range bad {
		cfg := framework.PodConfig("bad")
		mut(cfg)
		_, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	_, err = d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: framework.PodConfig("h"), RuntimeHandler: "nope"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown handler: %v", err)
	}
	// A user namespace without mappings (see userns_test.go for the rest).
	userns := framework.PodConfig("userns")
	userns.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}
	if _, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: userns}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("user namespaces: %v", err)
	}
}

func TestPodsSurviveDaemonRestart(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	ctx := framework.Ctx(t)
	id, st := runPod(t, d, framework.PodConfig("restart"))
	// Two pods as if the daemon died before recording their IPs: one whose
	// ADD had finished (libcni cached its result), one whose ADD had not.
	half, halfSt := runPod(t, d, framework.PodConfig("half"))
	unfinished, unfinishedSt := runPod(t, d, framework.PodConfig("unfinished"))
	d.Kill()
	for _, p := range []string{half, unfinished} {
		stripPodIPs(t, d, p)
	}
	cached, _ := filepath.Glob(filepath.Join(d.Dir, "state", "cni-cache", "results", "*"+unfinished+"*"))
	if len(cached) != 1 {
		t.Fatalf("cni cache of the pod: %v", cached)
	}
	if err := os.Remove(cached[0]); err != nil {
		t.Fatal(err)
	}
	d.Start()
	ctx = framework.Ctx(t)
	if st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: half}); err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || st.Status.Network.Ip != halfSt.Network.Ip {
		t.Errorf("pod whose IPs came from the cni cache: %v %v", st, err)
	}
	if st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: unfinished}); err != nil || st.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("pod whose network setup had not finished: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(d.IPAMDir(), d.Network(), unfinishedSt.Network.Ip)); !os.IsNotExist(err) {
		t.Errorf("IP of the unfinished pod still allocated")
	}
	st2, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || st2.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || st2.Status.Network.Ip != st.Network.Ip || st2.Status.CreatedAt != st.CreatedAt {
		t.Fatalf("after restart: %v %v", st2, err)
	}
	// The name stays reserved, and stop after restart still runs CNI DEL.
	if _, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: st2ConfigLike(st)}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("name after restart: %v", err)
	}
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.IPAMDir(), d.Network(), st.Network.Ip)); !os.IsNotExist(err) {
		t.Errorf("IP still allocated after stop following a restart")
	}
}

// stripPodIPs removes the IPs from a pod's record.
func stripPodIPs(t *testing.T, d *framework.Daemon, id string) {
	t.Helper()
	p := filepath.Join(d.Dir, "state", "pods", id+".json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "ips")
	delete(rec["network"].(map[string]any), "ips")
	if data, err = json.Marshal(rec); err == nil {
		err = os.WriteFile(p, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func st2ConfigLike(st *runtimeapi.PodSandboxStatus) *runtimeapi.PodSandboxConfig {
	cfg := framework.PodConfig(st.Metadata.Name)
	cfg.Metadata = st.Metadata
	return cfg
}

// TestShmSizeAnnotation: shm-size.crio.io sizes the pod's /dev/shm where the
// handler allows it, and is ignored where it does not.
func TestShmSizeAnnotation(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{DropIn: "[crio.runtime.runtimes.runc]\nallowed_annotations = [\"shm-size.crio.io\"]\n"})
	shmOpts := func(id string) string {
		info, err := d.Runtime.PodSandboxStatus(framework.Ctx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		shm := filepath.Join(between(info.Info["info"], `"dir":"`, `"`), "shm")
		data, _ := os.ReadFile("/proc/self/mountinfo")
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[4] == shm {
				return l
			}
		}
		return ""
	}
	cfg := framework.PodConfig("shm")
	cfg.Annotations = map[string]string{"shm-size.crio.io": "16Mi"}
	id, _ := runPod(t, d, cfg)
	if o := shmOpts(id); !strings.Contains(o, "size=16384k") {
		t.Errorf("allowed shm-size not applied: %s", o)
	}
	cfg = framework.PodConfig("shm-default")
	cfg.Annotations = map[string]string{"io.kubernetes.cri-o.ShmSize": "16Mi"} // the old name is not in the allowed list
	id, _ = runPod(t, d, cfg)
	if o := shmOpts(id); !strings.Contains(o, "size=65536k") {
		t.Errorf("a disallowed annotation changed shm: %s", o)
	}
	cfg = framework.PodConfig("shm-bad")
	cfg.Annotations = map[string]string{"shm-size.crio.io": "lots"}
	if _, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed allowed shm-size: %v", err)
	}
}

// TestVerboseStatusChecksNetwork: verbose PodSandboxStatus (crictl inspectp)
// reports the last CNI CHECK and asks for the next, which runs in the
// background (the status call itself does no plugin work): CHECK notices a
// pod whose interface went missing.
func TestVerboseStatusChecksNetwork(t *testing.T) {
	d := framework.StartDaemon(t, framework.Options{})
	id, _ := runPod(t, d, framework.PodConfig("check"))
	check := func() string {
		t.Helper()
		st, err := d.Runtime.PodSandboxStatus(framework.Ctx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			NetworkCheck string `json:"networkCheck"`
		}
		if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
			t.Fatal(err)
		}
		return info.NetworkCheck
	}
	// checked waits for the n-th background CHECK of the pod to finish.
	checked := func(n int) {
		t.Helper()
		line := regexp.MustCompile(`msg="pod network checked"[^\n]* pod=` + id)
		deadline := time.Now().Add(30 * time.Second)
		for len(line.FindAllString(d.Logs(), -1)) < n {
			if time.Now().After(deadline) {
				t.Fatalf("background CHECK %d never finished", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := check(); got != "" {
		t.Errorf("a CHECK result before any CHECK ran: %q", got)
	}
	checked(1)
	if got := check(); got != "ok" {
		t.Fatalf("CHECK of an intact pod: %q", got)
	}
	checked(2)
	if out, err := exec.Command("nsenter", "--net="+netnsPath(d, id), "ip", "link", "del", "eth0").CombinedOutput(); err != nil {
		t.Fatalf("delete eth0: %v %s", err, out)
	}
	check()
	checked(3)
	if got := check(); got == "ok" || got == "" {
		t.Errorf("CHECK after eth0 was deleted: %q", got)
	} else {
		t.Logf("CHECK says: %s", got)
	}
}
