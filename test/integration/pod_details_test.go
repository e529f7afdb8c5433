package integration

import (
	"archive/tar"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// hostSysctl reads a sysctl of the test's own (the node's) namespaces.
func hostSysctl(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// TestPodDetailsAsCRIO runs CRI-O's pod.bats and network.bats details:
// sysctls with spaces refused, sysctls of host namespaces skipped, the
// image's /etc ownership kept, RunAsGroup added to /etc/group, a host port
// reachable from the node itself, and a pinned netns that turned into a
// plain file (across a restart, or under a ready pod) cleaned up with its IP.
func TestPodDetailsAsCRIO(t *testing.T) {
	img := registry.Image{
		Users:  []registry.User{{Name: "test", UID: 5000, GID: 5000}},
		Groups: []registry.Group{{Name: "test", GID: 5000}},
		// /etc owned by the image's user, as in CRI-O's test image.
		ExtraLayers: [][]registry.TarEntry{{{Name: "etc/", Type: tar.TypeDir, UID: 5000, GID: 5000}}},
	}
	e := newEnv(t, img)
	for _, tc := range []struct {
		name  string
		check func(t *testing.T)
	}{
		{"default sysctl with spaces refused", func(t *testing.T) {
			d := framework.NewDaemon(t, framework.Options{DropIn: "[crio.runtime]\ndefault_sysctls = [\"net.ipv4.ip_forward = 1\"]\n"})
			out, err := d.Command("config").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "extra spaces") {
				t.Errorf("crio config with a spaced sysctl: %v\n%s", err, out)
			}
		}},
		{"pod sysctl value injection refused", func(t *testing.T) {
			cfg := framework.PodConfig("sysctl-inject")
			cfg.Linux.Sysctls = map[string]string{"net.ipv4.ip_local_port_range=1024 65000'+'net.ipv4.ip_forward": "0"}
			if _, err := e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg}); err == nil {
				t.Error("a sysctl name with spaces was accepted")
			}
		}},
		{"host namespace sysctls skipped", func(t *testing.T) {
			// The node's own values: were they applied, nothing changes.
			sysctls := map[string]string{}
			for _, n := range []string{"kernel.shm_rmid_forced", "kernel.msgmax", "net.ipv4.ip_local_port_range"} {
				sysctls[n] = hostSysctl(t, n)
			}
			cfg := framework.PodConfig("host-sysctls")
			cfg.Hostname = ""
			cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "host-sysctls")
			cfg.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
			cfg.Linux.SecurityContext.NamespaceOptions.Ipc = runtimeapi.NamespaceMode_NODE
			cfg.Linux.Sysctls = sysctls
			podID, _ := runPod(t, e.d, cfg)
			id := e.createWith(t, podID, cfg, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Command: []string{"sleep", "3600"}})
			if out, _, _ := e.exec(t, id, "cat", "/proc/sys/kernel/msgmax"); strings.TrimSpace(out) != sysctls["kernel.msgmax"] {
				t.Errorf("kernel.msgmax in the container %q", out)
			}
			if !strings.Contains(e.d.Logs(), "skipping pod sysctls of namespaces shared with the host") {
				t.Error("no warning for the skipped sysctls")
			}
		}},
		{"image /etc ownership kept", func(t *testing.T) {
			podID, podCfg := e.pod(t, "etc-owner")
			id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "etc"},
				Command:  []string{"sleep", "3600"},
				Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
					RunAsUser: &runtimeapi.Int64Value{Value: 5000}, RunAsGroup: &runtimeapi.Int64Value{Value: 5000},
					SupplementalGroups: []int64{5000},
				}},
			})
			if out, _, _ := e.exec(t, id, "stat", "-c", "%U:%G", "/etc"); strings.TrimSpace(out) != "test:test" {
				t.Errorf("/etc owned by %q, want test:test as in the image", out)
			}
		}},
		{"RunAsGroup and RunAsUser added to /etc/group and /etc/passwd", func(t *testing.T) {
			cfg := framework.PodConfig("runasgroup")
			cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", "runasgroup")
			cfg.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: 1000}
			cfg.Linux.SecurityContext.RunAsGroup = &runtimeapi.Int64Value{Value: 1001}
			podID, _ := runPod(t, e.d, cfg)
			id := e.createWith(t, podID, cfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "g"},
				Command:  []string{"sleep", "3600"},
				Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
					RunAsUser: &runtimeapi.Int64Value{Value: 1000}, RunAsGroup: &runtimeapi.Int64Value{Value: 1002},
				}},
			})
			if out, _, _ := e.exec(t, id, "cat", "/etc/group"); !strings.Contains(out, "x:1002") || !strings.Contains(out, "root:x:0:") {
				t.Errorf("/etc/group lacks gid 1002 or the image's entries:\n%s", out)
			}
			if out, _, _ := e.exec(t, id, "cat", "/etc/passwd"); !strings.Contains(out, ":x:1000:1002:") || !strings.Contains(out, "root:x:0:0:") {
				t.Errorf("/etc/passwd lacks uid 1000:\n%s", out)
			}
			if out, _, _ := e.exec(t, id, "id"); !strings.Contains(out, "uid=1000") || !strings.Contains(out, "gid=1002") {
				t.Errorf("id: %q", out)
			}
		}},
		{"host port reachable from the node", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			hostPort := l.Addr().(*net.TCPAddr).Port
			l.Close()
			cfg := framework.PodConfig("hostport-local")
			cfg.PortMappings = []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: int32(hostPort)}}
			id, _ := runPod(t, e.d, cfg)
			serveOnce(t, netnsPath(e.d, id), "8080")
			for _, addr := range []string{"127.0.0.1", ownAddress(t)} {
				if got := readLine(t, net.JoinHostPort(addr, itoa(hostPort))); got != "hello from pod" {
					t.Errorf("through %s:%d: %q", addr, hostPort, got)
				}
			}
		}},
		{"invalid netns cleaned up after a restart", func(t *testing.T) {
			d := framework.StartDaemon(t, framework.Options{})
			id, _ := runPod(t, d, framework.PodConfig("badns"))
			ns := netnsPath(d, id)
			if _, err := d.Runtime.StopPodSandbox(framework.Ctx(t), &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
				t.Fatal(err)
			}
			// What a reboot leaves: the kernel namespace gone, a plain file.
			_ = unix.Unmount(ns, unix.MNT_DETACH)
			if err := os.WriteFile(ns, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			d.Stop()
			d.Start()
			if _, err := d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
				t.Fatalf("remove: %v", err)
			}
			if _, err := os.Lstat(ns); !os.IsNotExist(err) {
				t.Errorf("netns file left behind: %v", err)
			}
			runPod(t, d, framework.PodConfig("badns"))
		}},
		{"destroyed netns of a ready pod", func(t *testing.T) {
			d := framework.StartDaemon(t, framework.Options{})
			id, st := runPod(t, d, framework.PodConfig("destroyedns"))
			ns := netnsPath(d, id)
			_ = unix.Unmount(ns, unix.MNT_DETACH)
			if err := os.WriteFile(ns, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
				t.Fatalf("remove: %v", err)
			}
			if _, err := os.Lstat(ns); !os.IsNotExist(err) {
				t.Errorf("netns file left behind: %v", err)
			}
			if _, err := os.Stat(filepath.Join(d.IPAMDir(), d.Network(), st.Network.Ip)); !os.IsNotExist(err) {
				t.Errorf("pod IP %s still allocated: %v", st.Network.Ip, err)
			}
		}},
	} {
		t.Run(tc.name, tc.check)
	}
}

// ownAddress is the IPv4 address of the interface of the default route.
func ownAddress(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 2 || f[1] != "00000000" {
			continue
		}
		ifc, err := net.InterfaceByName(f[0])
		if err != nil {
			t.Fatal(err)
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
				return ip.IP.String()
			}
		}
	}
	t.Skip("no default route")
	return ""
}
