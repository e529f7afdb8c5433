package framework

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// writeNetwork gives the daemon its own bridge, subnet and IPAM store, so
// daemons of parallel test packages never share an address or a rule.
func (d *Daemon) writeNetwork() {
	var b [3]byte
	_, _ = rand.Read(b[:])
	d.Bridge = "crt" + hex.EncodeToString(b[:])
	n, _ := rand.Int(rand.Reader, big.NewInt(200))
	d.Subnet = fmt.Sprintf("10.%d.%d.0/24", 100+n.Int64()/50, 1+n.Int64()%250)
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}`, d.Network(), d.Bridge, d.path("cni-ipam"), d.Subnet)
	if err := os.WriteFile(filepath.Join(d.Dir, "cni", "10-test.conflist"), []byte(conf), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// IPAMDir is where host-local records this daemon's IP allocations.
func (d *Daemon) IPAMDir() string { return d.path("cni-ipam") }

// Network is the name of this daemon's CNI network (unique per daemon, so
// the rules the plugins tag with it can be found and removed).
func (d *Daemon) Network() string { return "crio-test-" + d.Bridge }

// NamespacesDir is where the daemon pins pod namespaces.
func (d *Daemon) NamespacesDir() string { return d.path("run") }

func (d *Daemon) removeAllPods() {
	if d.Runtime == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			d.t.Logf("cleanup: remove pod %s: %v", p.Id, err)
		}
	}
}

// removeBridge deletes the bridge and any NAT rule the plugins left for
// this network (a daemon that died before CNI DEL, or a DEL that could not
// find the pod's interface). Rules go by number, last first: their comments
// hold quoted, spaced text that -S output cannot be split back from.
func (d *Daemon) removeBridge() {
	_ = exec.Command("ip", "link", "del", d.Bridge).Run()
	out, err := exec.Command("iptables", "-t", "nat", "-L", "POSTROUTING", "--line-numbers", "-n").Output()
	if err != nil {
		return
	}
	lines := strings.Split(string(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) < 2 || !strings.Contains(lines[i], `"`+d.Network()+`"`) {
			continue
		}
		_ = exec.Command("iptables", "-t", "nat", "-D", "POSTROUTING", f[0]).Run()
		if strings.HasPrefix(f[1], "CNI-") {
			_ = exec.Command("iptables", "-t", "nat", "-F", f[1]).Run()
			_ = exec.Command("iptables", "-t", "nat", "-X", f[1]).Run()
		}
	}
}

// PodConfig returns a minimal pod config with a unique uid.
func PodConfig(name string) *runtimeapi.PodSandboxConfig {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "test", Uid: hex.EncodeToString(b[:])},
		Hostname: name,
		Labels:   map[string]string{"app": name},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
		}},
	}
}
