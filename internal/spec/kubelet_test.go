package spec

import (
	"encoding/json"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/procattr"
)

// TestKubeletRestrictedPod is the request shape the kubelet sends for a pod
// meeting the "restricted" Pod Security Standard.
func TestKubeletRestrictedPod(t *testing.T) {
	in := baseInput()
	in.Passwd, in.Group = passwdFile(), groupFile()
	in.Runtime.HostCapabilities = hostCaps()
	in.Image = ImageConfig{Entrypoint: []string{"/app"}, Cmd: []string{"--serve"}, User: "app", Env: []string{"PATH=/bin"}}
	in.Config.Envs = []*runtimeapi.KeyValue{kv("KUBERNETES_SERVICE_HOST", "10.0.0.1")}
	in.Config.Mounts = []*runtimeapi.Mount{
		{ContainerPath: "/dev/termination-log", HostPath: "/var/lib/kubelet/pods/uid/containers/c/0"},
	}
	s := sc(&in)
	s.Capabilities = &runtimeapi.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"NET_BIND_SERVICE"}}
	s.RunAsUser = i64(1000)
	s.NoNewPrivs = true
	s.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	s.SupplementalGroups = []int64{2000} // fsGroup
	in.RunAsNonRoot = true
	in.Config.Linux.Resources = &runtimeapi.LinuxContainerResources{
		CpuPeriod: 100000, CpuQuota: 20000, CpuShares: 204, MemoryLimitInBytes: 128 << 20, OomScoreAdj: 968,
	}
	res := build(t, in)
	sp := res.Spec
	if !slices.Equal(sp.Process.Args, []string{"/app", "--serve"}) || sp.Process.User.UID != 1000 || !sp.Process.NoNewPrivileges {
		t.Fatalf("process %+v", sp.Process)
	}
	if c := sp.Process.Capabilities; !slices.Equal(c.Bounding, []string{"CAP_NET_BIND_SERVICE"}) || len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Fatalf("caps %+v", c)
	}
	if sp.Linux.Seccomp == nil || !slices.Equal(res.User.Linux.SupplementalGroups, []int64{1000, 10, 29, 2000}) {
		t.Fatalf("seccomp %v user %v", sp.Linux.Seccomp != nil, res.User)
	}
	if *sp.Process.OOMScoreAdj != 968 || *sp.Linux.Resources.CPU.Quota != 20000 || *sp.Linux.Resources.Memory.Limit != 128<<20 {
		t.Fatal("resources not applied")
	}
	if m := findMount(sp, "/dev/termination-log"); m == nil {
		t.Fatal("termination log not mounted")
	}
	if _, ok := hasNS(sp, specs.PIDNamespace); !ok {
		t.Fatal("no private pid namespace")
	}
	// The spec is serialisable as config.json.
	if _, err := json.Marshal(sp); err != nil {
		t.Fatal(err)
	}
}

// TestKubeletPrivilegedPod: privileged: true with the kubelet's usual
// unconfined seccomp and default masked paths, on a host lacking
// CAP_SYS_RESOURCE and negative oom_score_adj.
func TestKubeletPrivilegedPod(t *testing.T) {
	in := baseInput()
	in.Runtime.HostCapabilities = hostCaps()
	s := sc(&in)
	s.Privileged = true
	s.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"SYS_ADMIN"}}
	s.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	in.Config.Linux.Resources.OomScoreAdj = -998
	res := build(t, in)
	sp := res.Spec
	if c := sp.Process.Capabilities; len(c.Bounding) != len(procattr.KnownCapabilities)-1 || slices.Contains(c.Bounding, "CAP_SYS_RESOURCE") {
		t.Fatalf("privileged caps %v", c.Bounding)
	}
	if sp.Linux.Seccomp != nil || len(sp.Linux.MaskedPaths) != 0 || len(sp.Linux.ReadonlyPaths) != 0 {
		t.Fatal("privileged container confined")
	}
	if *sp.Process.OOMScoreAdj != 0 || len(res.Warnings) != 1 {
		t.Fatalf("oom %d warnings %v", *sp.Process.OOMScoreAdj, res.Warnings)
	}
}
