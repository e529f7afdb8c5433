package integration

import (
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

func (e *env) createWith(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	if cfg.Image == nil {
		cfg.Image = &runtimeapi.ImageSpec{Image: e.image}
	}
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxContainerConfig{}
	}
	if cfg.Linux.SecurityContext == nil {
		cfg.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{}
	}
	cfg.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}
	resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("create %s: %v", cfg.Metadata.Name, err)
	}
	e.start(t, resp.ContainerId)
	return resp.ContainerId
}

func (e *env) exec(t *testing.T, id string, cmd ...string) (string, string, int32) {
	t.Helper()
	r, err := e.d.Runtime.ExecSync(framework.Ctx(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 20})
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return string(r.Stdout), string(r.Stderr), r.ExitCode
}

func statusField(status, name string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestDefaultContainerIsLeastPrivilege(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "secure")
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "default"},
		Command:  []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NoNewPrivs: true,
			Seccomp:    &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		}},
	})
	st, _, _ := e.exec(t, id, "cat", "/proc/self/status")
	// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
	for field, want := range map[string]string{"CapEff": "00000000000005fb", "CapPrm": "00000000000005fb", "CapBnd": "00000000000005fb", "CapInh": "0000000000000000", "Seccomp": "2", "NoNewPrivs": "1"} {
		if got := statusField(st, field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if _, _, code := e.exec(t, id, "cat", "/proc/kcore"); code == 0 {
		t.Error("/proc/kcore is readable; it must be masked")
	}
	if out, _, _ := e.exec(t, id, "cat", "/proc/keys"); out != "" {
		t.Errorf("/proc/keys shows %q; it must be masked", out)
	}
	if _, _, code := e.exec(t, id, "sh", "-c", "echo 1 > /proc/sys/kernel/domainname"); code == 0 {
		t.Error("/proc/sys is writable; it must be read-only")
	}
	// Namespace creation is refused by the default seccomp profile without CAP_SYS_ADMIN.
	if _, _, code := e.exec(t, id, "unshare", "-n", "true"); code == 0 {
		t.Error("unshare -n succeeded in a default container")
	}
}

func TestReadOnlyRootfsAndImageUser(t *testing.T) {
	e := newEnv(t, registry.Image{
		User:   "app",
		Users:  []registry.User{{Name: "app", UID: 1234, GID: 2345}},
		Groups: []registry.Group{{Name: "app", GID: 2345}, {Name: "extra", GID: 3456, Members: []string{"app"}}},
	})
	podID, podCfg := e.pod(t, "ro")
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "ro"},
		Command:  []string{"sleep", "3600"},
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{ReadonlyRootfs: true}},
	})
	if _, stderr, code := e.exec(t, id, "touch", "/newfile"); code == 0 || !strings.Contains(stderr, "Read-only file system") {
		t.Errorf("write to read-only rootfs: code %d %q", code, stderr)
	}
	out, _, _ := e.exec(t, id, "id")
	if !strings.Contains(out, "uid=1234(app)") || !strings.Contains(out, "gid=2345(app)") || !strings.Contains(out, "3456(extra)") {
		t.Errorf("image user: %q", out)
	}
	st := e.status(t, id)
	if u := st.GetUser().GetLinux(); u.GetUid() != 1234 || u.GetGid() != 2345 {
		t.Errorf("ContainerStatus.User: %+v", u)
	}
}
