package nri

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	api "github.com/containerd/nri/pkg/adaptation"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/pkg/config"
)

func TestApplyAdjustment(t *testing.T) {
	spec := &specs.Spec{
		Process: &specs.Process{Env: []string{"A=1", "B=2"}, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 10}}},
		Mounts:  []specs.Mount{{Destination: "/old"}},
		Linux:   &specs.Linux{},
	}
	a := &api.ContainerAdjustment{}
	a.AddAnnotation("k", "v")
	a.AddEnv("B", "3")
	a.AddEnv("C", "4")
	a.AddMount(&api.Mount{Source: "/src", Destination: "/new", Type: "bind", Options: []string{"rbind"}})
	a.AddDevice(&api.LinuxDevice{Path: "/dev/x", Type: "c", Major: 1, Minor: 3})
	a.AddHooks(&api.Hooks{Poststop: []*api.Hook{{Path: "/bin/true"}}})
	a.AddRlimit("RLIMIT_NOFILE", 20, 20)
	a.SetLinuxMemoryLimit(1 << 20)
	a.SetLinuxCPUSetCPUs("0-1")
	a.SetLinuxPidLimits(9)
	if err := applyAdjustment(spec, a, nil); err != nil {
		t.Fatal(err)
	}
	if spec.Annotations["k"] != "v" {
		t.Errorf("annotations %v", spec.Annotations)
	}
	if !slices.Equal(spec.Process.Env, []string{"A=1", "B=3", "C=4"}) {
		t.Errorf("env %v", spec.Process.Env)
	}
	if len(spec.Mounts) != 2 || !slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == "/new" && m.Source == "/src" }) {
		t.Errorf("mounts %+v", spec.Mounts)
	}
	if len(spec.Linux.Devices) != 1 || len(spec.Linux.Resources.Devices) != 1 || !spec.Linux.Resources.Devices[0].Allow {
		t.Errorf("devices %+v %+v", spec.Linux.Devices, spec.Linux.Resources.Devices)
	}
	if len(spec.Hooks.Poststop) != 1 {
		t.Errorf("hooks %+v", spec.Hooks)
	}
	if rl := spec.Process.Rlimits; len(rl) != 1 || rl[0].Hard != 20 {
		t.Errorf("rlimits %+v: the plugin's limit replaces the spec's", rl)
	}
	r := spec.Linux.Resources
	if *r.Memory.Limit != 1<<20 || r.CPU.Cpus != "0-1" || *r.Pids.Limit != 9 {
		t.Errorf("resources %+v", r)
	}
}

type fakeDomain struct {
	updated map[string]*runtimeapi.LinuxContainerResources
	evicted []string
}

func (f *fakeDomain) CDISpecDirs() []string               { return nil }
func (f *fakeDomain) Pods() []*sandbox.Sandbox            { return nil }
func (f *fakeDomain) Containers() []*container.Container  { return nil }
func (f *fakeDomain) Pod(string) (*sandbox.Sandbox, bool) { return nil, false }
func (f *fakeDomain) EvictContainer(_ context.Context, id, _ string) error {
	f.evicted = append(f.evicted, id)
	return nil
}

func (f *fakeDomain) UpdateContainer(_ context.Context, id string, r *runtimeapi.LinuxContainerResources) error {
	if id == "gone" {
		return errors.New("not found")
	}
	f.updated[id] = r
	return nil
}

func TestUpdatesAndEvictions(t *testing.T) {
	f := &fakeDomain{updated: map[string]*runtimeapi.LinuxContainerResources{}}
	a := New(config.NRIConfig{EnableNRI: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.dom = f
	ok, gone, tolerated := &api.ContainerUpdate{}, &api.ContainerUpdate{}, &api.ContainerUpdate{IgnoreFailure: true}
	ok.SetContainerId("c1")
	ok.SetLinuxMemoryLimit(64 << 20)
	ok.SetLinuxCPUSetCPUs("1")
	gone.SetContainerId("gone")
	gone.SetLinuxCPUShares(2)
	tolerated.SetContainerId("gone")
	tolerated.SetLinuxCPUShares(2)
	failed := a.applyUpdates(context.Background(), []*api.ContainerUpdate{ok, nil, gone, tolerated})
	if len(failed) != 1 || failed[0] != gone {
		t.Errorf("failed %v, want only the update of the unknown container", failed)
	}
	if r := f.updated["c1"]; r == nil || r.MemoryLimitInBytes != 64<<20 || r.CpusetCpus != "1" || r.CpuShares != 0 {
		t.Errorf("applied %+v", r)
	}
	a.applyEvictions(context.Background(), []*api.ContainerEviction{{ContainerId: "c2", Reason: "test"}})
	if !slices.Equal(f.evicted, []string{"c2"}) {
		t.Errorf("evicted %v", f.evicted)
	}
}

func TestDisabledIsANoOp(t *testing.T) {
	var a *API = New(config.NRIConfig{}, slog.Default())
	if a != nil || a.Enabled() {
		t.Fatal("enable_nri = false must give a nil API")
	}
	spec := &specs.Spec{}
	undo, err := a.AdjustSpec(context.Background(), nil, nil, spec)
	if err != nil || undo == nil {
		t.Errorf("AdjustSpec on a disabled API: %v", err)
	}
	a.BlockSync()()
	a.Stop()
}

func TestMergeCRI(t *testing.T) {
	base := &runtimeapi.LinuxContainerResources{CpuShares: 2, MemoryLimitInBytes: 10, CpusetCpus: "0"}
	got := mergeCRI(base, nriToCRI(criToNRI(&runtimeapi.LinuxContainerResources{CpusetCpus: "1", CpuQuota: 5})))
	if got.CpuShares != 2 || got.MemoryLimitInBytes != 10 || got.CpusetCpus != "1" || got.CpuQuota != 5 || base.CpusetCpus != "0" {
		t.Errorf("merged %+v (base %+v)", got, base)
	}
}

// A plugin's CDI device is resolved in the CDI spec dirs and its edits
// applied; one no spec defines fails the adjustment, naming it.
func TestApplyAdjustmentCDIDevice(t *testing.T) {
	dir := t.TempDir()
	spec := `{"cdiVersion": "0.6.0", "kind": "example.com/nri", "devices": [{"name": "x",
  "containerEdits": {"env": ["FROM_NRI_CDI=1"]}}]}`
	if err := os.WriteFile(filepath.Join(dir, "nri.json"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{}}
	a := &api.ContainerAdjustment{}
	a.AddCDIDevice(&api.CDIDevice{Name: "example.com/nri=x"})
	if err := applyAdjustment(s, a, []string{dir}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Process.Env, "FROM_NRI_CDI=1") {
		t.Errorf("env %v: the CDI device's edits were not applied", s.Process.Env)
	}
	a = &api.ContainerAdjustment{}
	a.AddCDIDevice(&api.CDIDevice{Name: "example.com/nri=missing"})
	if err := applyAdjustment(s, a, []string{dir}); err == nil || !strings.Contains(err.Error(), "example.com/nri=missing") {
		t.Errorf("unknown CDI device: %v, want an error naming it", err)
	}
}
