package sandbox

import (
	"fmt"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func podCfg() *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"},
		Linux:    &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{}}},
	}
}

func TestSysctlForms(t *testing.T) {
	for in, want := range map[string][2]string{
		"net.ipv4.ip_forward":               {"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"},
		"net/ipv4/ip_forward":               {"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"},
		"net/ipv4/conf/eth0.100/forwarding": {"net.ipv4.conf.eth0/100.forwarding", "/proc/sys/net/ipv4/conf/eth0.100/forwarding"},
		"net.ipv4.conf.eth0/100.forwarding": {"net.ipv4.conf.eth0/100.forwarding", "/proc/sys/net/ipv4/conf/eth0.100/forwarding"},
	} {
		d := SysctlDotted(in)
		if d != want[0] || SysctlPath(d) != want[1] {
			t.Errorf("%s: %s %s, want %v", in, d, SysctlPath(d), want)
		}
	}
}

func TestSortSysctlsAndHostname(t *testing.T) {
	got, skipped, err := SortSysctls(map[string]string{"net/ipv4/ip_forward": "1", "kernel.shmmni": "10"}, &runtimeapi.NamespaceOption{})
	if err != nil || got["net.ipv4.ip_forward"] != "1" || got["kernel.shmmni"] != "10" || len(skipped) != 0 {
		t.Errorf("sysctls: %v %v %v", got, skipped, err)
	}
	// Sysctls of a namespace shared with the host are skipped, as CRI-O does.
	all := map[string]string{"net.ipv4.ip_forward": "1", "kernel.hostname": "h", "kernel.shmmni": "10", "fs.mqueue.msg_max": "5"}
	for _, tt := range []struct {
		nso     *runtimeapi.NamespaceOption
		kept    []string
		skipped string
	}{
		{&runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}, []string{"kernel.shmmni", "fs.mqueue.msg_max"}, "[kernel.hostname net.ipv4.ip_forward]"},
		{&runtimeapi.NamespaceOption{Ipc: runtimeapi.NamespaceMode_NODE}, []string{"net.ipv4.ip_forward", "kernel.hostname"}, "[fs.mqueue.msg_max kernel.shmmni]"},
	} {
		got, skipped, err := SortSysctls(all, tt.nso)
		if err != nil || len(got) != len(tt.kept) || fmt.Sprint(skipped) != tt.skipped {
			t.Errorf("%v: kept %v skipped %v, want %v and %s (%v)", tt.nso, got, skipped, tt.kept, tt.skipped, err)
		}
		for _, k := range tt.kept {
			if _, ok := got[k]; !ok {
				t.Errorf("%v: %s not kept: %v", tt.nso, k, got)
			}
		}
	}
	c := podCfg()
	if h := Hostname(c, "node1"); h != "web" {
		t.Errorf("pod name as hostname: %q", h)
	}
	c.Hostname = "explicit"
	if h := Hostname(c, "node1"); h != "explicit" {
		t.Errorf("explicit hostname: %q", h)
	}
	c.Hostname = ""
	c.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	if h := Hostname(c, "node1"); h != "node1" {
		t.Errorf("host network hostname: %q", h)
	}
}
