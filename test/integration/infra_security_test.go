package integration

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// The infra (pause) process of a shared-PID pod runs under a seccomp
// allowlist, without capabilities, and with a /proc that holds processes
// only: seen from a container of the pod, where it is PID 1.
func TestInfraProcessConfined(t *testing.T) {
	e := newEnv(t, registry.Image{})
	cfg := framework.PodConfig("infraconfined")
	cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
	podID, _ := runPod(t, e.d, cfg)
	resp, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: cfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "looker"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{"sleep", "3600"},
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, resp.ContainerId)
	id := resp.ContainerId

	status, code := e.sh(t, id, "cat /proc/1/cmdline; echo; grep -E '^(Seccomp|CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/1/status")
	if code != 0 || !strings.HasPrefix(status, "/pause") {
		t.Fatalf("PID 1 of the pod: %q (exit %d)", status, code)
	}
	fields := map[string]string{}
	for _, l := range strings.Split(status, "\n")[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	// Seccomp 2: a filter; before, the infra ran with none.
	want := map[string]string{"Seccomp": "2", "CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("infra %s = %q, want %q (all: %q)", k, fields[k], v, status)
		}
	}

	// The infra's own /proc, reached through its root: processes only
	// (Linux 5.8's subset=pid), nothing of the node's /proc to mask.
	list, code := e.sh(t, id, "ls /proc/1/root/proc")
	if code != 0 {
		t.Fatalf("list the infra's /proc: %q (exit %d)", list, code)
	}
	if !hasSubsetPid() {
		t.Skip("kernel without subset=pid /proc")
	}
	var other []string
	for _, name := range strings.Fields(list) {
		if name != "self" && name != "thread-self" && strings.Trim(name, "0123456789") != "" {
			other = append(other, name)
		}
	}
	if len(other) > 0 {
		t.Errorf("the infra's /proc shows %v; want processes only", other)
	}
}

// hasSubsetPid: the kernel mounts a /proc of processes only (Linux 5.8).
func hasSubsetPid() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var major, minor int
	_, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return err == nil && (major > 5 || major == 5 && minor >= 8)
}
