package spec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func usernsInput() Input {
	in := baseInput()
	in.Sandbox.UserNSPath = "/run/crio/ns/userns/pod1"
	sc(&in).NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER, UsernsOptions: &runtimeapi.UserNamespace{
		Mode: runtimeapi.NamespaceMode_POD,
		Uids: []*runtimeapi.IDMapping{{HostId: 1000, Length: 65536}}, Gids: []*runtimeapi.IDMapping{{HostId: 1000, Length: 65536}},
	}}
	in.Config.Mounts = []*runtimeapi.Mount{
		{ContainerPath: "/data", HostPath: "/data"},
		{ContainerPath: "/mapped", HostPath: "/data", UidMappings: []*runtimeapi.IDMapping{{ContainerId: 0, HostId: 5000, Length: 10}},
			GidMappings: []*runtimeapi.IDMapping{{ContainerId: 0, HostId: 6000, Length: 10}}},
	}
	return in
}

func TestUsernsJoinsPodNamespace(t *testing.T) {
	res := build(t, usernsInput())
	ns, ok := hasNS(res.Spec, specs.UserNamespace)
	if !ok || ns.Path != "/run/crio/ns/userns/pod1" {
		t.Fatalf("user namespace %+v, %v", ns, ok)
	}
	// runc takes the mappings from the namespace it joins.
	if l := res.Spec.Linux; len(l.UIDMappings) != 0 || len(l.GIDMappings) != 0 {
		t.Errorf("spec carries mappings %v %v", l.UIDMappings, l.GIDMappings)
	}
	data := findMount(res.Spec, "/data")
	if data == nil || !slices.Contains(data.Options, "idmap") || data.UIDMappings != nil {
		t.Errorf("volume not idmapped with the pod's mappings: %+v", data)
	}
	mapped := findMount(res.Spec, "/mapped")
	if mapped == nil || !slices.Contains(mapped.Options, "idmap") ||
		len(mapped.UIDMappings) != 1 || mapped.UIDMappings[0].HostID != 5000 || mapped.GIDMappings[0].HostID != 6000 {
		t.Errorf("mount's own mappings not used: %+v", mapped)
	}
	// The pod's files are not idmapped: they are the daemon's.
	if m := findMount(res.Spec, "/etc/hostname"); m == nil || slices.Contains(m.Options, "idmap") {
		t.Errorf("/etc/hostname: %+v", m)
	}
	if m := findMount(res.Spec, "/sys"); m == nil || m.Type != "sysfs" {
		t.Errorf("own netns: /sys should be a fresh sysfs: %+v", m)
	}
}

func TestUsernsHostNetworkBindsSys(t *testing.T) {
	in := usernsInput()
	in.Sandbox.NetNSPath, in.Sandbox.UTSNSPath = "", ""
	res := build(t, in)
	m := findMount(res.Spec, "/sys")
	if m == nil || m.Type != "bind" || m.Source != "/sys" || !hasAll(m.Options, "rbind", "ro") {
		t.Errorf("host netns in a user namespace: /sys must be a read-only bind, got %+v", m)
	}
}

func TestUsernsModes(t *testing.T) {
	for name, tc := range map[string]struct {
		podNS string
		mode  *runtimeapi.UserNamespace
		kind  string
	}{
		"pod without userns, container asks":   {"", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}, "precondition"},
		"pod without userns, container NODE":   {"", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}, ""},
		"pod with userns, container NODE":      {"/ns/user", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}, "invalid"},
		"pod with userns, container unset":     {"/ns/user", nil, ""},
		"pod with userns, container CONTAINER": {"/ns/user", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_CONTAINER}, "invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			in := baseInput()
			in.Sandbox.UserNSPath = tc.podNS
			sc(&in).NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER, UsernsOptions: tc.mode}
			_, err := Build(in)
			checkErr(t, err, tc.kind, "userns_options")
		})
	}
}

func TestIDMappedMountNeedsUserns(t *testing.T) {
	in := usernsInput()
	in.Sandbox.UserNSPath = ""
	sc(&in).NamespaceOptions = nil
	_, err := Build(in)
	checkErr(t, err, "precondition", "mounts[1]")
}
