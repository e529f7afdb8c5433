package integration

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// ctrCase is one container detail CRI-O users rely on (issue 22).
type ctrCase struct {
	name string
	run  func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig)
}

// TestContainerDetailsAsCRIO checks, on one daemon with log_size_max set,
// the container details CRI-O users see (CRI-O's test/ctr.bats names them).
func TestContainerDetailsAsCRIO(t *testing.T) {
	e := newEnvWith(t, registry.Image{
		Users:  []registry.User{{Name: "app", UID: 1000, GID: 1000, Home: "/home/app"}},
		Groups: []registry.Group{{Name: "app", GID: 1000}, {Name: "extra", GID: 2000, Members: []string{"app"}}},
	}, framework.Options{DropIn: "[crio.runtime]\nlog_size_max = 10000\n", Config: linkLogsHandler(t)})
	podID, podCfg := e.pod(t, "details")
	for _, tc := range ctrDetailCases() {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, e, podID, podCfg) })
	}
}

func ctrDetailCases() []ctrCase {
	return []ctrCase{
		{"containerenv", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.sleeper(t, podID, podCfg, "envfile")
			if out, _, code := e.exec(t, id, "sh", "-c", "test -f /run/.containerenv && wc -c < /run/.containerenv"); code != 0 || strings.TrimSpace(out) != "0" {
				t.Errorf("/run/.containerenv: %q exit %d, want an empty file", out, code)
			}
		}},
		{"HOME from the image user", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "home"}, Command: []string{"sleep", "3600"},
				Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: 1000}}},
			})
			if out, _, _ := e.exec(t, id, "sh", "-c", "echo $HOME"); strings.TrimSpace(out) != "/home/app" {
				t.Errorf("HOME = %q, want /home/app", out)
			}
		}},
		{"working dir created for the user", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "workdir"}, Command: []string{"sleep", "3600"},
				WorkingDir: "/thisshouldntexist/atall",
				Linux:      &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: 1000}}},
			})
			out, _, code := e.exec(t, id, "sh", "-c", "pwd; stat -c %u:%g . ..; touch mine")
			if want := "/thisshouldntexist/atall\n1000:1000\n1000:1000\n"; out != want || code != 0 {
				t.Errorf("working dir: %q exit %d, want %q exit 0", out, code, want)
			}
		}},
		{"working dir not a directory", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			err := e.tryCreate(t, podID, podCfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "workfile"}, Command: []string{"true"}, WorkingDir: "/etc/passwd",
			})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not a directory") {
				t.Errorf("create: %v, want InvalidArgument naming \"not a directory\"", err)
			}
		}},
		{"exec gets the container's groups", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			for _, tc := range []struct {
				policy runtimeapi.SupplementalGroupsPolicy
				want   string
			}{{runtimeapi.SupplementalGroupsPolicy_Merge, "1000 2000 3000"}, {runtimeapi.SupplementalGroupsPolicy_Strict, "1000 3000"}} {
				id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: "groups-" + tc.policy.String()}, Command: []string{"sleep", "3600"},
					Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
						RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroups: []int64{3000}, SupplementalGroupsPolicy: tc.policy,
					}},
				})
				out, _, _ := e.exec(t, id, "sh", "-c", "id -G; grep Groups: /proc/1/status")
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != 2 || lines[0] != tc.want || strings.Join(strings.Fields(strings.TrimPrefix(lines[1], "Groups:")), " ") != tc.want {
					t.Errorf("%v: exec and pid 1 groups %q, want both %q", tc.policy, lines, tc.want)
				}
			}
		}},
		{"masked path defaults kept", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "masked"}, Command: []string{"sleep", "3600"},
				Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{MaskedPaths: []string{"/proc/asound"}}},
			})
			masked := e.verboseInfo(t, id).RuntimeSpec.Linux.MaskedPaths
			if !slices.Contains(masked, "/proc/asound") || !slices.Contains(masked, "/proc/acpi") || !slices.Contains(masked, "/proc/kcore") {
				t.Errorf("masked paths %v: want the requested one and the defaults", masked)
			}
		}},
		{"info.privileged", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.sleeper(t, podID, podCfg, "unpriv")
			if info := e.verboseInfo(t, id); info.Privileged == nil || *info.Privileged {
				t.Errorf("unprivileged container: info.privileged = %v, want false", info.Privileged)
			}
			privCfg := framework.PodConfig("privileged")
			privCfg.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{Privileged: true}}
			privID, _ := runPod(t, e.d, privCfg)
			id = e.createWith(t, privID, privCfg, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "priv"}, Command: []string{"sleep", "3600"},
				Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}},
			})
			if info := e.verboseInfo(t, id); info.Privileged == nil || !*info.Privileged {
				t.Errorf("privileged container: info.privileged = %v, want true", info.Privileged)
			}
		}},
		{"log_size_max truncates", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.create(t, podID, podCfg, "logmax", "sh", "-c", "for i in $(seq 2000); do echo $i; done")
			e.start(t, id)
			st := e.waitExited(t, id)
			data, err := os.ReadFile(st.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if n := len(lines); n >= 2000 || n == 0 || len(data) > 10000 || !strings.HasSuffix(lines[n-1], " F 2000") {
				t.Errorf("log of %d lines (%d bytes) ending %q: want at most 10000 bytes, fewer than 2000 lines, ending with the last line", n, len(data), lines[n-1])
			}
		}},
		{"reopen log of a stopped container", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.create(t, podID, podCfg, "stopped", "true")
			e.start(t, id)
			e.waitExited(t, id)
			_, err := e.d.Runtime.ReopenContainerLog(framework.Ctx(t), &runtimeapi.ReopenContainerLogRequest{ContainerId: id})
			if status.Code(err) != codes.FailedPrecondition {
				t.Errorf("reopen: %v, want FailedPrecondition", err)
			}
		}},
		{"missing command not found", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			for _, tty := range []bool{false, true} {
				err := e.tryCreate(t, podID, podCfg, &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: "nocmd", Attempt: boolToAttempt(tty)}, Command: []string{"nonexistent"}, Tty: tty,
				})
				if err == nil || !strings.Contains(err.Error(), "not found") {
					t.Errorf("tty=%v: create: %v, want an error saying \"not found\"", tty, err)
				}
			}
		}},
		{"log linking", testLinkLogs},
		{"memory update in the cgroup", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.memoryContainer(t, podID, podCfg, "memupdate", 200<<20, "sleep 3600")
			if got := e.cgroupMemLimit(t, id); got != "209715200" {
				t.Fatalf("limit before %q", got)
			}
			e.updateMemory(t, id, 500<<20, codes.OK)
			if got := e.cgroupMemLimit(t, id); got != "524288000" {
				t.Errorf("limit after update %q, want 524288000", got)
			}
		}},
		{"memory decrease below usage refused", func(t *testing.T, e *env, podID string, podCfg *runtimeapi.PodSandboxConfig) {
			id := e.memoryContainer(t, podID, podCfg, "memusage", 128<<20, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 && touch /tmp/filled; sleep 3600")
			e.waitFile(t, id, "/tmp/filled")
			err := e.updateMemory(t, id, 16<<20, codes.FailedPrecondition)
			if err == nil || !strings.Contains(err.Error(), "cannot decrease memory limit") {
				t.Errorf("decrease: %v", err)
			}
			if got := e.cgroupMemLimit(t, id); got != "134217728" {
				t.Errorf("limit changed by a refused update: %q", got)
			}
			e.updateMemory(t, id, 256<<20, codes.OK)
		}},
	}
}

func boolToAttempt(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// tryCreate creates a container and returns the error.
func (e *env) tryCreate(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) error {
	t.Helper()
	cfg.Image = &runtimeapi.ImageSpec{Image: e.image}
	_, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: podCfg})
	return err
}

type verboseInfo struct {
	Privileged  *bool `json:"privileged"`
	RuntimeSpec struct {
		Linux struct {
			MaskedPaths []string `json:"maskedPaths"`
		} `json:"linux"`
	} `json:"runtimeSpec"`
}

func (e *env) verboseInfo(t *testing.T, id string) verboseInfo {
	t.Helper()
	st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info verboseInfo
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		t.Fatalf("info %q: %v", st.Info["info"], err)
	}
	return info
}

func (e *env) memoryContainer(t *testing.T, podID string, podCfg *runtimeapi.PodSandboxConfig, name string, limit int64, script string) string {
	t.Helper()
	return e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name}, Command: []string{"sh", "-c", script},
		Linux: &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: limit}},
	})
}

func (e *env) updateMemory(t *testing.T, id string, limit int64, want codes.Code) error {
	t.Helper()
	_, err := e.d.Runtime.UpdateContainerResources(framework.Ctx(t), &runtimeapi.UpdateContainerResourcesRequest{
		ContainerId: id, Linux: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: limit},
	})
	if status.Code(err) != want {
		t.Errorf("update memory to %d: %v, want %v", limit, err, want)
	}
	return err
}

// cgroupMemLimit reads the limit the container sees in its own cgroup.
func (e *env) cgroupMemLimit(t *testing.T, id string) string {
	t.Helper()
	out, _, _ := e.exec(t, id, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	return strings.TrimSpace(out)
}

func (e *env) waitFile(t *testing.T, id, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, code := e.exec(t, id, "test", "-e", path); code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared in %s", path, id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
