package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

const (
	wlActivation = "target.workload.example.com/management"
	wlPrefix     = "resources.workload.example.com"
)

// annotationEnv starts a daemon with a second runc handler, "annot", that
// allows the umask and devices annotations, and a workload that allows the
// older devices name; the default handler "runc" allows nothing.
func annotationEnv(t *testing.T) *env {
	t.Helper()
	framework.RequireRoot(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	root := filepath.Join(t.TempDir(), "annot")
	return newEnvWith(t, registry.Image{}, framework.Options{
		Config: `
[crio.runtime.runtimes.annot]
runtime_path = "` + runc + `"
runtime_root = "` + root + `"
allowed_annotations = ["umask.crio.io", "io.kubernetes.cri-o.umask", "devices.crio.io"]

[crio.runtime.workloads.management]
activation_annotation = "` + wlActivation + `"
annotation_prefix = "` + wlPrefix + `"
allowed_annotations = ["io.kubernetes.cri-o.Devices"]
[crio.runtime.workloads.management.resources]
cpushares = 20
`,
	})
}

// annotatedPod runs a pod on handler ("" = default) with annotations.
func (e *env) annotatedPod(t *testing.T, name, handler string, ann map[string]string) (string, *runtimeapi.PodSandboxConfig, error) {
	t.Helper()
	cfg := framework.PodConfig(name)
	cfg.Annotations = ann
	resp, err := e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		return "", cfg, err
	}
	return resp.PodSandboxId, cfg, nil
}

func (e *env) sleeper(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, name string) string {
	t.Helper()
	return e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Command:  []string{"sleep", "3600"},
	})
}

// TestAnnotationsAllowedPerHandler: an allowed annotation changes the
// container (both name forms); the same annotation on a handler that does
// not allow it changes nothing; a malformed allowed one is InvalidArgument
// and a malformed disallowed one is ignored.
func TestAnnotationsAllowedPerHandler(t *testing.T) {
	e := annotationEnv(t)
	tests := []struct {
		name, handler string
		ann           map[string]string
		umask         string
		device        string // container path expected to exist
		noDevice      string // container path expected to be absent
	}{
		{"allowed", "annot", map[string]string{"umask.crio.io": "077", "devices.crio.io": "/dev/fuse:/dev/annotfuse:rw"}, "0077", "/dev/annotfuse", ""},
		{"older-name", "annot", map[string]string{"io.kubernetes.cri-o.umask": "027"}, "0027", "", ""},
		{"disallowed", "", map[string]string{"umask.crio.io": "077", "devices.crio.io": "/dev/fuse:/dev/annotfuse"}, "0022", "", "/dev/annotfuse"},
		{"disallowed-older-device-name", "annot", map[string]string{"io.kubernetes.cri-o.Devices": "/dev/fuse:/dev/annotfuse"}, "0022", "", "/dev/annotfuse"},
		{"disallowed-malformed", "", map[string]string{"umask.crio.io": "not-octal"}, "0022", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			podID, podCfg, err := e.annotatedPod(t, tc.name, tc.handler, tc.ann)
			if err != nil {
				t.Fatalf("RunPodSandbox: %v", err)
			}
			id := e.sleeper(t, podID, podCfg, "app")
			// The annotation sets the init process's umask (as in CRI-O), not an exec's.
			st, _, _ := e.exec(t, id, "cat", "/proc/1/status")
			if got := statusField(st, "Umask"); got != tc.umask {
				t.Errorf("umask of pid 1 = %q, want %s", got, tc.umask)
			}
			if tc.device != "" {
				if _, stderr, code := e.exec(t, id, "test", "-c", tc.device); code != 0 {
					t.Errorf("%s missing (%d %s)", tc.device, code, stderr)
				}
			}
			if tc.noDevice != "" {
				if _, _, code := e.exec(t, id, "test", "-e", tc.noDevice); code == 0 {
					t.Errorf("%s exists although its annotation is not allowed", tc.noDevice)
				}
			}
		})
	}

	t.Run("allowed-malformed", func(t *testing.T) {
		podID, podCfg, err := e.annotatedPod(t, "malformed", "annot", map[string]string{"umask.crio.io": "not-octal"})
		if err == nil {
			_, err = e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{
				PodSandboxId: podID, SandboxConfig: podCfg,
				Config: &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
					Image:    &runtimeapi.ImageSpec{Image: e.image},
					Command:  []string{"sleep", "3600"},
				},
			})
		}
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "umask.crio.io") {
			t.Errorf("err = %v, want InvalidArgument naming umask.crio.io", err)
		}
	})
}

// TestWorkloadAnnotations: the activation annotation turns on the
// workload's allowed annotations and its per-container CPU overrides.
func TestWorkloadAnnotations(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.shares"); err != nil {
		t.Skip("reads cgroup v1 cpu files (this host is not v1/hybrid)")
	}
	e := annotationEnv(t)
	override := map[string]string{
		wlPrefix + "/app":             `{"cpushares": 300}`,
		"io.kubernetes.cri-o.Devices": "/dev/fuse:/dev/wlfuse",
	}
	active := map[string]string{wlActivation: `{"effect": "PreferredDuringScheduling"}`}
	for k, v := range override {
		active[k] = v
	}
	shares := func(id string) string {
		b, err := os.ReadFile("/sys/fs/cgroup/cpu/crio-" + id + "/cpu.shares") // no cgroup parent: at the root
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}

	podID, podCfg, err := e.annotatedPod(t, "workload", "", active)
	if err != nil {
		t.Fatal(err)
	}
	app := e.sleeper(t, podID, podCfg, "app")
	other := e.sleeper(t, podID, podCfg, "other")
	if got := shares(app); got != "300" {
		t.Errorf("app cpu.shares = %s, want the override 300", got)
	}
	if got := shares(other); got != "20" {
		t.Errorf("other cpu.shares = %s, want the workload default 20", got)
	}
	if _, _, code := e.exec(t, app, "test", "-c", "/dev/wlfuse"); code != 0 {
		t.Error("workload-allowed device annotation not applied")
	}

	plainID, plainCfg, err := e.annotatedPod(t, "plain", "", override)
	if err != nil {
		t.Fatal(err)
	}
	plain := e.sleeper(t, plainID, plainCfg, "app")
	if got := shares(plain); got == "300" || got == "20" {
		t.Errorf("cpu.shares = %s without the activation annotation", got)
	}
	if _, _, code := e.exec(t, plain, "test", "-e", "/dev/wlfuse"); code == 0 {
		t.Error("device annotation applied without the activation annotation")
	}
}
