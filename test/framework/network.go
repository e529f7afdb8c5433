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
  "name": "crio-test",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}`, d.Bridge, d.path("cni-ipam"), d.Subnet)
	if err := os.WriteFile(filepath.Join(d.Dir, "cni", "10-test.conflist"), []byte(conf), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// IPAMDir is where host-local records this daemon's IP allocations.
func (d *Daemon) IPAMDir() string { return d.path("cni-ipam") }

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

func (d *Daemon) removeBridge() {
	_ = exec.Command("ip", "link", "del", d.Bridge).Run()
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
