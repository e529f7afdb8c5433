package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	occgroups "github.com/opencontainers/cgroups"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestExitedContainerCgroupGoes: an exited container's empty cgroup is
// removed at once, not at RemoveContainer: the kubelet keeps the exited
// container beside its restart, and cAdvisor would report both cgroups
// under one pod and container name. The container stays listed EXITED
// with its code, and its removal still deletes it from the runtime.
func TestExitedContainerCgroupGoes(t *testing.T) {
	e := newEnv(t, registry.Image{Cmd: []string{"sh"}})
	podID, podCfg := e.pod(t, "cgdrop")
	id := e.create(t, podID, podCfg, "quick", "sh", "-c", "exit 7")
	ctx := framework.Ctx(t)
	st, err := e.d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		RuntimeSpec struct {
			Linux struct {
				CgroupsPath string `json:"cgroupsPath"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("/sys/fs/cgroup/memory", info.RuntimeSpec.Linux.CgroupsPath)
	if occgroups.IsCgroup2UnifiedMode() {
		dir = filepath.Join("/sys/fs/cgroup", info.RuntimeSpec.Linux.CgroupsPath)
	}
	e.start(t, id)
	if _, err := os.Stat(dir); err != nil && e.status(t, id).State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("no cgroup %s while running: %v", dir, err)
	}
	if ex := e.waitExited(t, id); ex.ExitCode != 7 {
		t.Fatalf("exit %d", ex.ExitCode)
	}
	waitFor(t, "the exited container's cgroup to go", func() (bool, string) {
		_, err := os.Stat(dir)
		return os.IsNotExist(err), fmt.Sprintf("%s: %v", dir, err)
	})
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 7 {
		t.Errorf("after the cgroup went: %v %d", st.State, st.ExitCode)
	}
	if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	// The runtime's delete runs in the background (see reap.go).
	waitFor(t, "the runtime to delete the removed container", func() (bool, string) {
		l := runcList(t, e.d)
		return !slices.Contains(l, id), fmt.Sprint(l)
	})
}
