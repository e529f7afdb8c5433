package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// Host ids of the pods' user namespaces in these tests: unprivileged and
// unused on the test machine.
const (
	usernsHostUID = 300000
	usernsHostGID = 400000
	usernsSize    = 65536
)

// idmapRunc is the runc with idmapped mounts `make tools` builds (Debian's
// 1.1 has none); without it the user-namespace tests skip.
func idmapRunc(t *testing.T) string {
	t.Helper()
	bin := framework.Binaries(t)
	for _, p := range []string{filepath.Join(bin, "tools", "runc"), filepath.Join(bin, "..", "tools", "runc"),
		filepath.Join(framework.RepoRoot(), "bin", "tools", "runc")} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Skip("no runc with idmapped mounts in bin/tools (run `make tools`; `make test` builds it)")
	return ""
}

// usernsEnv is a daemon with handler "idmap" on the built runc and an image
// holding files of several owners.
func usernsEnv(t *testing.T) *env {
	t.Helper()
	framework.RequireRoot(t)
	runc := idmapRunc(t)
	root := filepath.Join(t.TempDir(), "idmap")
	e := newEnvWith(t, registry.Image{Volumes: []string{"/imgvol"}, ExtraFiles: []registry.TarEntry{
		{Name: "owned/", Type: '5', UID: 1234, GID: 2345, Mode: 0o750},
		{Name: "owned/file", UID: 1234, GID: 2345, Data: []byte("mine")},
	}}, framework.Options{Config: fmt.Sprintf("\n[crio.runtime.runtimes.idmap]\nruntime_path = %q\nruntime_root = %q\n", runc, root)})
	// The pod's root must reach the container's rootfs under the daemon's
	// private directory, as it reaches /var/lib on a node.
	if err := os.Chmod(e.d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return e
}

func usernsPodConfig(name string) *runtimeapi.PodSandboxConfig {
	cfg := framework.PodConfig(name)
	cfg.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{
		Pid: runtimeapi.NamespaceMode_CONTAINER,
		UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD,
			Uids: []*runtimeapi.IDMapping{{ContainerId: 0, HostId: usernsHostUID, Length: usernsSize}},
			Gids: []*runtimeapi.IDMapping{{ContainerId: 0, HostId: usernsHostGID, Length: usernsSize}},
		},
	}
	return cfg
}

func (e *env) usernsPod(t *testing.T, name string) (string, *runtimeapi.PodSandboxConfig) {
	t.Helper()
	cfg := usernsPodConfig(name)
	cfg.LogDirectory = filepath.Join(e.d.Dir, "podlogs", name)
	resp, err := e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "idmap"})
	if err != nil {
		t.Fatalf("RunPodSandbox with a user namespace: %v", err)
	}
	return resp.PodSandboxId, cfg
}

// usernsContainer starts a long-running container of the pod with mounts
// and extra capabilities.
func (e *env) usernsContainer(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, mounts []*runtimeapi.Mount, caps ...string) string {
	t.Helper()
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{"sleep", "3600"},
		Mounts:   mounts,
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: podCfg.Linux.SecurityContext.NamespaceOptions,
			Capabilities:     &runtimeapi.Capability{AddCapabilities: caps},
		}},
	}
	resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("create container in a user namespace: %v", err)
	}
	e.start(t, resp.ContainerId)
	return resp.ContainerId
}

func (e *env) sh(t *testing.T, id, script string) (string, int32) {
	t.Helper()
	r, err := e.d.Runtime.ExecSync(framework.Ctx(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", script}, Timeout: 20})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return strings.TrimSpace(string(r.Stdout) + string(r.Stderr)), r.ExitCode
}

func ownerOf(fi os.FileInfo) (uint32, uint32) {
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func TestUsernsHandlerFeature(t *testing.T) {
	e := usernsEnv(t)
	resp, err := e.d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, h := range resp.RuntimeHandlers {
		got[h.Name] = h.GetFeatures().GetUserNamespaces()
	}
	// Debian's runc 1.1 lacks idmapped mounts; the built one has them.
	if !got["idmap"] || got["runc"] || got[""] {
		t.Errorf("user_namespaces per handler = %v, want only idmap", got)
	}
	// The kubelet should not send such a pod to runc; if it does, it is refused.
	cfg := usernsPodConfig("on-old-runc")
	_, err = e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "user namespaces") {
		t.Errorf("user namespace pod on runc 1.1: %v, want FailedPrecondition", err)
	}
}

func TestUsernsRootIsUnprivilegedOnHost(t *testing.T) {
	e := usernsEnv(t)
	podID, podCfg := e.usernsPod(t, "uid")
	id := e.usernsContainer(t, podID, podCfg, nil)
	if out, _ := e.sh(t, id, "id -u; id -g"); out != "0\n0" {
		t.Errorf("inside: id = %q, want root", out)
	}
	pid := verbosePids(t, e, id)[0]
	uidMap, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(uidMap)); len(f) != 3 || f[0] != "0" || f[1] != strconv.Itoa(usernsHostUID) || f[2] != strconv.Itoa(usernsSize) {
		t.Errorf("uid_map %q, want 0 %d %d", uidMap, usernsHostUID, usernsSize)
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == "Uid:" && f[1] != strconv.Itoa(usernsHostUID) {
			t.Errorf("host view of the container's root: %q, want uid %d", line, usernsHostUID)
		}
		if len(f) == 5 && f[0] == "Gid:" && f[1] != strconv.Itoa(usernsHostGID) {
			t.Errorf("host view of the container's root: %q, want gid %d", line, usernsHostGID)
		}
	}
	// The pod's namespaces are owned by its user namespace, not the host's.
	hostUserNS, _ := os.Readlink("/proc/self/ns/user")
	if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid)); ns == hostUserNS || ns == "" {
		t.Errorf("container in the host's user namespace %q", ns)
	}
}

func TestUsernsFilesKeepOwners(t *testing.T) {
	e := usernsEnv(t)
	vol := filepath.Join(e.d.Dir, "vol")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "host-file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(vol, "host-file"), 1234, 2345); err != nil {
		t.Fatal(err)
	}
	podID, podCfg := e.usernsPod(t, "files")
	id := e.usernsContainer(t, podID, podCfg, []*runtimeapi.Mount{{ContainerPath: "/vol", HostPath: vol}})
	for _, c := range []struct{ path, want string }{
		{"/owned/file", "1234:2345"}, {"/owned", "1234:2345"}, {"/bin/busybox", "0:0"}, {"/etc/passwd", "0:0"},
		{"/vol/host-file", "1234:2345"}, {"/vol", "0:0"}, {"/imgvol", "0:0"}, // image_volumes = mkdir
	} {
		if out, code := e.sh(t, id, "stat -c %u:%g "+c.path); code != 0 || out != c.want {
			t.Errorf("inside: owner of %s = %q (exit %d), want %s", c.path, out, code, c.want)
		}
	}
	// What root of the pod writes into the volume belongs to root on the
	// host's disk (the mount is idmapped), not to the pod's host uid.
	if out, code := e.sh(t, id, "echo hi > /vol/new && chown 1234:2345 /owned/file && stat -c %u:%g /owned/file"); code != 0 || out != "1234:2345" {
		t.Fatalf("write as the pod's root: %q (exit %d)", out, code)
	}
	fi, err := os.Stat(filepath.Join(vol, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(fi); uid != 0 || gid != 0 {
		t.Errorf("on the host the pod's new file is owned by %d:%d, want 0:0", uid, gid)
	}
}

func TestUsernsCapabilitiesStayInside(t *testing.T) {
	e := usernsEnv(t)
	podID, podCfg := e.usernsPod(t, "caps")
	id := e.usernsContainer(t, podID, podCfg, nil, "SYS_ADMIN", "MKNOD")
	// CAP_SYS_ADMIN holds in the pod's user namespace: a new mount
	// namespace and a mount in it work, and the host never sees it.
	out, code := e.sh(t, id, "mkdir -p /tmp/usernsmark && unshare -m sh -c 'mount -t tmpfs usernsmark /tmp/usernsmark && grep -c usernsmark /proc/self/mountinfo'")
	if code != 0 || out != "1" {
		t.Fatalf("unshare + mount inside: %q (exit %d)", out, code)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), "usernsmark") {
		t.Error("a mount made inside the pod reached the host")
	}
	// Host-wide operations stay refused: a device node even with
	// CAP_MKNOD; the hostname changes only in the pod's UTS namespace.
	if out, code := e.sh(t, id, "mknod /tmp/null c 1 3"); code == 0 {
		t.Errorf("mknod in a user namespace succeeded: %q", out)
	}
	host, _ := os.Hostname()
	if out, code := e.sh(t, id, "hostname usernsmark && hostname"); code != 0 || out != "usernsmark" {
		t.Errorf("hostname in the pod's UTS namespace: %q (exit %d)", out, code)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host's hostname changed to %q", now)
	}
}

func TestUsernsBadMappings(t *testing.T) {
	e := usernsEnv(t)
	for name, u := range map[string]*runtimeapi.UserNamespace{
		"two uid ranges": {Mode: runtimeapi.NamespaceMode_POD,
			Uids: []*runtimeapi.IDMapping{{HostId: 300000, Length: 10}, {ContainerId: 10, HostId: 400000, Length: 10}},
			Gids: []*runtimeapi.IDMapping{{HostId: 300000, Length: 10}}},
		"root unmapped": {Mode: runtimeapi.NamespaceMode_POD,
			Uids: []*runtimeapi.IDMapping{{ContainerId: 1, HostId: 300000, Length: 10}},
			Gids: []*runtimeapi.IDMapping{{ContainerId: 1, HostId: 300000, Length: 10}}},
		"host root mapped": {Mode: runtimeapi.NamespaceMode_POD,
			Uids: []*runtimeapi.IDMapping{{HostId: 0, Length: 10}}, Gids: []*runtimeapi.IDMapping{{HostId: 300000, Length: 10}}},
		"CONTAINER": {Mode: runtimeapi.NamespaceMode_CONTAINER},
		"TARGET":    {Mode: runtimeapi.NamespaceMode_TARGET},
	} {
		cfg := framework.PodConfig("bad")
		cfg.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{UsernsOptions: u}
		_, err := e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "idmap"})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "userns_options") {
			t.Errorf("%s: %v, want InvalidArgument naming userns_options", name, err)
		}
	}
	// Nothing of the refused pods stays pinned.
	if pins, _ := filepath.Glob(filepath.Join(e.d.NamespacesDir(), "userns", "*")); len(pins) != 0 {
		t.Errorf("user namespaces left pinned: %v", pins)
	}
}

// TestUsernsSurvivesRestartAndCleansUp: the pinned user namespace outlives
// a daemon crash, a container created afterwards joins the same one, and
// removing the pod releases it.
func TestUsernsSurvivesRestartAndCleansUp(t *testing.T) {
	e := usernsEnv(t)
	podID, podCfg := e.usernsPod(t, "restart")
	first := e.usernsContainer(t, podID, podCfg, nil)
	before, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", verbosePids(t, e, first)[0]))
	e.d.Kill()
	e.d.Start()
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "after"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: podCfg.Linux.SecurityContext.NamespaceOptions}},
	}
	resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("create after restart: %v", err)
	}
	e.start(t, resp.ContainerId)
	after, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", verbosePids(t, e, resp.ContainerId)[0]))
	if before == "" || after != before {
		t.Errorf("user namespace before restart %q, after %q", before, after)
	}
	ctx := framework.Ctx(t)
	if _, err := e.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if pins, _ := filepath.Glob(filepath.Join(e.d.NamespacesDir(), "userns", "*")); len(pins) != 0 {
		t.Errorf("user namespace still pinned after remove: %v", pins)
	}
	if m := framework.MountsUnder(e.d.NamespacesDir()); len(m) != 0 {
		t.Errorf("mounts left under namespaces_dir: %v", m)
	}
}

// TestUsernsSharedPIDPod: a pod sharing one PID namespace runs its infra
// process in the pod's user namespace, from the built-in pause or from
// pause_image (whose rootfs is shifted as a container's), and its
// containers mount /proc for that PID namespace.
func TestUsernsSharedPIDPod(t *testing.T) {
	for _, withImage := range []bool{false, true} {
		t.Run(fmt.Sprintf("pause_image=%v", withImage), func(t *testing.T) {
			framework.RequireRoot(t)
			runc := idmapRunc(t)
			reg := registry.Start(t, registry.Options{})
			reg.Push(t, "busybox:test", registry.Image{})
			conf := fmt.Sprintf("\n[crio.runtime.runtimes.idmap]\nruntime_path = %q\nruntime_root = %q\n", runc, filepath.Join(t.TempDir(), "idmap"))
			dropIn := ""
			if withImage {
				pause, err := os.ReadFile(filepath.Join(framework.Binaries(t), "pause"))
				if err != nil {
					t.Fatal(err)
				}
				reg.Push(t, "mypause:1", registry.Image{NoBase: true, ExtraLayers: [][]registry.TarEntry{{{Name: "my-pause", Mode: 0o755, Data: pause}}}})
				dropIn = "[crio.image]\npause_image = \"" + reg.Addr + "/mypause:1\"\npause_command = \"/my-pause\"\n"
			}
			d := framework.StartDaemon(t, framework.Options{InsecureRegistries: []string{reg.Addr}, Config: conf, DropIn: dropIn})
			if err := os.Chmod(d.Dir, 0o711); err != nil {
				t.Fatal(err)
			}
			e := &env{d: d, reg: reg, image: reg.Addr + "/busybox:test"}
			if _, err := d.Image.PullImage(framework.Ctx(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.image}}); err != nil {
				t.Fatal(err)
			}
			cfg := usernsPodConfig("sharedpid")
			cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
			resp, err := d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "idmap"})
			if err != nil {
				t.Fatalf("shared-PID pod with a user namespace: %v", err)
			}
			id := e.usernsContainer(t, resp.PodSandboxId, cfg, nil)
			out, code := e.sh(t, id, "cat /proc/1/uid_map; cat /proc/self/uid_map")
			want := fmt.Sprintf("0 %d %d", usernsHostUID, usernsSize)
			norm := func(l string) string { return strings.Join(strings.Fields(l), " ") }
			if lines := strings.Split(out, "\n"); code != 0 || len(lines) != 2 || norm(lines[0]) != want || norm(lines[1]) != want {
				t.Errorf("pause (PID 1) and container uid maps: %q (exit %d), want both %q", out, code, want)
			}
		})
	}
}
