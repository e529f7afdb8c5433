package spec

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestNamespaces(t *testing.T) {
	type ns = map[specs.LinuxNamespaceType]string // type -> path ("" = new)
	tests := []struct {
		name     string
		opts     *runtimeapi.NamespaceOption
		podOpts  *runtimeapi.NamespaceOption
		hostNet  bool
		pidNS    string
		v2       bool
		target   string
		want     ns
		errField string
	}{
		{
			name: "kubelet default", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
			want: ns{"mount": "", "network": "/run/crio/ns/net/pod1", "ipc": "/run/crio/ns/ipc/pod1", "uts": "/run/crio/ns/uts/pod1", "pid": ""},
		},
		{
			name: "shared pid", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}, pidNS: "/proc/42/ns/pid",
			want: ns{"mount": "", "network": "/run/crio/ns/net/pod1", "ipc": "/run/crio/ns/ipc/pod1", "uts": "/run/crio/ns/uts/pod1", "pid": "/proc/42/ns/pid"},
		},
		{name: "shared pid without infra", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}, errField: "namespace_options.pid"},
		{
			name: "host pid and network", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE, Network: runtimeapi.NamespaceMode_NODE}, hostNet: true,
			want: ns{"mount": "", "ipc": "/run/crio/ns/ipc/pod1"},
		},
		{
			name: "target pid", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "other"}, target: "/proc/77/ns/pid",
			want: ns{"mount": "", "network": "/run/crio/ns/net/pod1", "ipc": "/run/crio/ns/ipc/pod1", "uts": "/run/crio/ns/uts/pod1", "pid": "/proc/77/ns/pid"},
		},
		{name: "target unknown", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "other"}, errField: "other"},
		{
			name: "cgroup v2 adds cgroup ns", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}, v2: true,
			want: ns{"mount": "", "network": "/run/crio/ns/net/pod1", "ipc": "/run/crio/ns/ipc/pod1", "uts": "/run/crio/ns/uts/pod1", "pid": "", "cgroup": ""},
		},
		{
			name: "no options, pod has no infra: private pid",
			want: ns{"mount": "", "network": "/run/crio/ns/net/pod1", "ipc": "/run/crio/ns/ipc/pod1", "uts": "/run/crio/ns/uts/pod1", "pid": ""},
		},
		{
			name: "no container options: pod options used", podOpts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE},
			want: ns{"mount": "", "network": "/run/crio/ns/net/pod1", "ipc": "/run/crio/ns/ipc/pod1", "uts": "/run/crio/ns/uts/pod1"},
		},
		{
			name: "user namespaces", opts: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER, UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}},
			errField: "userns_options",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			sc(&in).NamespaceOptions = tt.opts
			in.SandboxConfig.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: tt.podOpts}
			if tt.hostNet {
				in.Sandbox.NetNSPath, in.Sandbox.UTSNSPath = "", ""
			}
			in.Sandbox.PIDNSPath, in.Sandbox.CgroupV2, in.TargetPIDNSPath = tt.pidNS, tt.v2, tt.target
			res, err := Build(in)
			if tt.errField != "" {
				checkErr(t, err, "precondition", tt.errField)
				return
			}
			checkErr(t, err, "", "")
			got := ns{}
			for _, n := range res.Spec.Linux.Namespaces {
				got[n.Type] = n.Path
			}
			if len(got) != len(tt.want) {
				t.Fatalf("namespaces %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if p, ok := got[k]; !ok || p != v {
					t.Fatalf("namespaces %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestCgroupsPath(t *testing.T) {
	tests := []struct {
		driver, parent, want string
		wantErr              bool
	}{
		{"cgroupfs", "/kubepods/burstable/pod1", "/kubepods/burstable/pod1/crio-c0ffee", false},
		{"", "", "/crio-c0ffee", false},
		{"cgroupfs", "kubepods", "", true},
		{"systemd", "kubepods-burstable-pod1.slice", "kubepods-burstable-pod1.slice:crio:c0ffee", false},
		{"systemd", "", "system.slice:crio:c0ffee", false},
		{"systemd", "/kubepods/pod1", "", true},
		{"openrc", "/x", "", true},
	}
	for _, tt := range tests {
		in := baseInput()
		in.Sandbox.CgroupDriver, in.Sandbox.CgroupParent = tt.driver, tt.parent
		res, err := Build(in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s %q: no error", tt.driver, tt.parent)
			}
			continue
		}
		checkErr(t, err, "", "")
		if got := res.Spec.Linux.CgroupsPath; got != tt.want {
			t.Errorf("%s %q: %q, want %q", tt.driver, tt.parent, got, tt.want)
		}
	}
	// The parent falls back to the pod config.
	in := baseInput()
	in.Sandbox.CgroupParent = ""
	in.SandboxConfig.Linux.CgroupParent = "/kubepods/podX"
	if got := build(t, in).Spec.Linux.CgroupsPath; got != "/kubepods/podX/crio-c0ffee" {
		t.Errorf("fallback parent: %q", got)
	}
}

func TestResources(t *testing.T) {
	type R = runtimeapi.LinuxContainerResources
	tests := []struct {
		name     string
		r        *R
		v2       bool
		minOOM   int
		pids     int64
		check    func(*specs.LinuxResources, *specs.Process) bool
		warn     string
		errKind  string
		errField string
	}{
		{
			name: "cpu", r: &R{CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, CpusetCpus: "0-1,3", CpusetMems: "0"},
			check: func(r *specs.LinuxResources, _ *specs.Process) bool {
				c := r.CPU
				return *c.Shares == 512 && *c.Quota == 50000 && *c.Period == 100000 && c.Cpus == "0-1,3" && c.Mems == "0"
			},
		},
		{name: "unlimited quota", r: &R{CpuQuota: -1}, check: func(r *specs.LinuxResources, _ *specs.Process) bool { return *r.CPU.Quota == -1 }},
		{
			name: "memory and swap", r: &R{MemoryLimitInBytes: 1 << 30, MemorySwapLimitInBytes: 2 << 30},
			check: func(r *specs.LinuxResources, _ *specs.Process) bool {
				return *r.Memory.Limit == 1<<30 && *r.Memory.Swap == 2<<30
			},
		},
		{name: "no limits", r: &R{}, check: func(r *specs.LinuxResources, _ *specs.Process) bool { return r.CPU == nil && r.Memory == nil }},
		{
			name: "hugepages", r: &R{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 4 << 20}, {PageSize: "1GB", Limit: 0}}},
			check: func(r *specs.LinuxResources, _ *specs.Process) bool {
				return len(r.HugepageLimits) == 2 && r.HugepageLimits[0].Pagesize == "2MB" && r.HugepageLimits[0].Limit == 4<<20
			},
		},
		{name: "pids", r: &R{}, pids: 1024, check: func(r *specs.LinuxResources, _ *specs.Process) bool { return *r.Pids.Limit == 1024 }},
		{
			name: "unified on v2", r: &R{Unified: map[string]string{"memory.high": "1000000"}}, v2: true,
			check: func(r *specs.LinuxResources, _ *specs.Process) bool { return r.Unified["memory.high"] == "1000000" },
		},
		{
			name: "unified on v1 kept for FitResources", r: &R{Unified: map[string]string{"memory.high": "1"}},
			check: func(r *specs.LinuxResources, _ *specs.Process) bool { return r.Unified["memory.high"] == "1" },
		},
		{name: "unified bad key", r: &R{Unified: map[string]string{"../x": "1"}}, v2: true, errKind: "invalid", errField: "unified"},
		{name: "oom score kept", r: &R{OomScoreAdj: 999}, check: func(_ *specs.LinuxResources, p *specs.Process) bool { return *p.OOMScoreAdj == 999 }},
		{
			name: "oom score clamped", r: &R{OomScoreAdj: -997}, minOOM: 0, warn: "oom_score_adj -997 raised to 0",
			check: func(_ *specs.LinuxResources, p *specs.Process) bool { return *p.OOMScoreAdj == 0 },
		},
		{
			name: "oom score allowed when host can", r: &R{OomScoreAdj: -997}, minOOM: -1000,
			check: func(_ *specs.LinuxResources, p *specs.Process) bool { return *p.OOMScoreAdj == -997 },
		},
		{name: "oom score out of range", r: &R{OomScoreAdj: 1001}, errKind: "invalid", errField: "oom_score_adj"},
		{name: "negative shares", r: &R{CpuShares: -2}, errKind: "invalid", errField: "linux.resources.cpu_shares"},
		{name: "negative memory", r: &R{MemoryLimitInBytes: -1}, errKind: "invalid", errField: "memory_limit_in_bytes"},
		{name: "bad quota", r: &R{CpuQuota: -5}, errKind: "invalid", errField: "cpu_quota"},
		{name: "tiny quota", r: &R{CpuQuota: 10}, errKind: "invalid", errField: "cpu_quota"},
		{name: "bad period", r: &R{CpuPeriod: 10}, errKind: "invalid", errField: "cpu_period"},
		{name: "bad cpuset", r: &R{CpusetCpus: "0-"}, errKind: "invalid", errField: "cpuset_cpus"},
		{name: "swap below memory", r: &R{MemoryLimitInBytes: 100, MemorySwapLimitInBytes: 50}, errKind: "invalid", errField: "memory_swap_limit_in_bytes"},
		{name: "negative swap", r: &R{MemorySwapLimitInBytes: -2}, errKind: "invalid", errField: "memory_swap_limit_in_bytes"},
		{name: "bad hugepage size", r: &R{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2M"}}}, errKind: "invalid", errField: "hugepage_limits[0].page_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Config.Linux.Resources = tt.r
			in.Sandbox.CgroupV2 = tt.v2
			in.Runtime.MinOOMScoreAdj, in.Runtime.PidsLimit = tt.minOOM, tt.pids
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, tt.errField)
				return
			}
			checkErr(t, err, "", "")
			if !tt.check(res.Spec.Linux.Resources, res.Spec.Process) {
				t.Fatalf("resources %+v process oom %v", res.Spec.Linux.Resources, res.Spec.Process.OOMScoreAdj)
			}
			if tt.warn != "" && !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, tt.warn) }) {
				t.Fatalf("warnings %v lack %q", res.Warnings, tt.warn)
			}
		})
	}
}

func TestSysctls(t *testing.T) {
	tests := []struct {
		name     string
		defaults []string
		pod      map[string]string
		hostNet  bool
		hostIPC  bool
		want     map[string]string
		warn     bool
		errField string
	}{
		{
			name: "ping group range by config", defaults: []string{PingGroupRangeSysctl},
			want: map[string]string{"net.ipv4.ping_group_range": "0 2147483647"},
		},
		{
			name: "pod overrides defaults", defaults: []string{"net.ipv4.ip_unprivileged_port_start=1024"},
			pod:  map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1", "net/core/somaxconn": "1024"},
			want: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1", "net/core/somaxconn": "1024"},
		},
		{
			name: "dotted interface names stay on the pod", pod: map[string]string{"net/ipv4/conf/eth0.100/forwarding": "1", "net.ipv4.conf.Eth1/5.forwarding": "1", "net.ipv4.conf.Eth0.forwarding": "1"},
			want: map[string]string{"net.ipv4.conf.Eth0.forwarding": "1"}, warn: true,
		},
		{name: "default skipped on host network", defaults: []string{PingGroupRangeSysctl}, hostNet: true, want: map[string]string{}, warn: true},
		{
			name: "pod net sysctl skipped on host network", pod: map[string]string{"net.core.somaxconn": "1", "kernel.msgmax": "1"}, hostNet: true,
			want: map[string]string{"kernel.msgmax": "1"}, warn: true,
		},
		{
			name: "pod ipc sysctl skipped on host ipc", pod: map[string]string{"kernel.msgmax": "1", "kernel.sem": "1", "net.core.somaxconn": "1"}, hostIPC: true,
			want: map[string]string{"net.core.somaxconn": "1"}, warn: true,
		},
		{name: "not namespaced", pod: map[string]string{"vm.swappiness": "1"}, errField: "linux.sysctls[vm.swappiness]"},
		{name: "bad default", defaults: []string{"novalue"}, errField: "default_sysctls[0]"},
		{name: "default not namespaced", defaults: []string{"kernel.panic=1"}, errField: "default_sysctls[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Runtime.DefaultSysctls = tt.defaults
			in.SandboxConfig.Linux.Sysctls = tt.pod
			if tt.hostNet {
				in.Sandbox.NetNSPath = ""
			}
			if tt.hostIPC {
				in.Sandbox.IPCNSPath = ""
			}
			res, err := Build(in)
			if tt.errField != "" {
				checkErr(t, err, "invalid", tt.errField)
				return
			}
			checkErr(t, err, "", "")
			got := res.Spec.Linux.Sysctl
			if len(got) != len(tt.want) {
				t.Fatalf("sysctls %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("sysctls %v, want %v", got, tt.want)
				}
			}
			if tt.warn != (len(res.Warnings) > 0) {
				t.Fatalf("warnings %v", res.Warnings)
			}
		})
	}
}

func TestLSM(t *testing.T) {
	prof := func(typ runtimeapi.SecurityProfile_ProfileType, ref string) *runtimeapi.SecurityProfile {
		return &runtimeapi.SecurityProfile{ProfileType: typ, LocalhostRef: ref}
	}
	tests := []struct {
		name       string
		apparmor   *runtimeapi.SecurityProfile
		legacy     string
		selinux    *runtimeapi.SELinuxOption
		lsm        LSM
		privileged bool
		wantAA     string
		wantLabel  string
		errKind    string
		errField   string
	}{
		{name: "unset passes without LSMs"},
		{name: "RuntimeDefault passes without AppArmor", apparmor: prof(runtimeapi.SecurityProfile_RuntimeDefault, "")},
		{name: "Unconfined passes", apparmor: prof(runtimeapi.SecurityProfile_Unconfined, "")},
		{name: "legacy runtime/default", legacy: "runtime/default"},
		{name: "Localhost refused without AppArmor", apparmor: prof(runtimeapi.SecurityProfile_Localhost, "localhost/my-prof"), errKind: "precondition", errField: "apparmor"},
		{name: "legacy localhost refused", legacy: "localhost/my-prof", errKind: "precondition", errField: "apparmor_profile"},
		{name: "legacy junk", legacy: "bogus", errKind: "invalid", errField: "apparmor_profile"},
		{name: "Localhost with AppArmor", apparmor: prof(runtimeapi.SecurityProfile_Localhost, "my-prof"), lsm: LSM{AppArmor: true, AppArmorDefaultProfile: "crio-default"}, wantAA: "my-prof"},
		{name: "default with AppArmor", lsm: LSM{AppArmor: true, AppArmorDefaultProfile: "crio-default"}, wantAA: "crio-default"},
		{name: "privileged ignores AppArmor", lsm: LSM{AppArmor: true, AppArmorDefaultProfile: "crio-default"}, privileged: true},
		{name: "SELinux label ignored without SELinux", selinux: &runtimeapi.SELinuxOption{Level: "s0:c1,c2"}},
		{name: "empty SELinux options pass", selinux: &runtimeapi.SELinuxOption{}},
		{name: "SELinux label with SELinux", selinux: &runtimeapi.SELinuxOption{Level: "s0:c1,c2"}, lsm: LSM{SELinux: true}, wantLabel: "system_u:system_r:container_t:s0:c1,c2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			s := sc(&in)
			s.Apparmor, s.ApparmorProfile, s.SelinuxOptions, s.Privileged = tt.apparmor, tt.legacy, tt.selinux, tt.privileged
			in.Runtime.LSM = tt.lsm
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, tt.errField)
				return
			}
			checkErr(t, err, "", "")
			p := res.Spec.Process
			if p.ApparmorProfile != tt.wantAA || p.SelinuxLabel != tt.wantLabel {
				t.Fatalf("apparmor %q selinux %q", p.ApparmorProfile, p.SelinuxLabel)
			}
		})
	}
}
