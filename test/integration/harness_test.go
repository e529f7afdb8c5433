package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestCRIOHarnessFlow runs the flow CRI-O's own integration harness uses:
// `crio config --default > crio.conf`, `crio [flags] config > crio.conf.d/00.conf`,
// `crio -c crio.conf -d crio.conf.d`, then pod and container configs in
// crictl's JSON form, with a hostname holding an underscore.
func TestCRIOHarnessFlow(t *testing.T) {
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", registry.Image{})
	d := framework.NewDaemon(t, framework.Options{InsecureRegistries: []string{reg.Addr}})
	crio := filepath.Join(framework.Binaries(t), "crio")
	p := func(rel string) string { return filepath.Join(d.Dir, rel) }

	def, err := exec.Command(crio, "config", "--default").Output()
	if err != nil {
		t.Fatalf("crio config --default: %v", err)
	}
	flags := []string{
		"--root", p("storage"), "--runroot", p("run/storage"), "--storage-driver", "vfs",
		"--listen", d.Socket, "--log-dir", p("logs"), "--cgroup-manager", "cgroupfs",
		"--container-exits-dir", p("exits"), "--container-attach-socket-dir", p("run"), "--namespaces-dir", p("run"),
		"--version-file", p("run/version"), "--clean-shutdown-file", p("clean.shutdown"),
		"--cni-config-dir", p("cni"), "--signature-policy", p("policy.json"),
		"--registries-conf", p("registries.conf"), "--registries-conf-dir", p("registries.conf.d"),
		"--runtimes", "harness:/usr/sbin/runc:" + p("run/runc-harness"), "--default-runtime", "harness",
	}
	dropIn, err := exec.Command(crio, append(flags, "config")...).Output()
	if err != nil {
		t.Fatalf("crio [flags] config: %v", err)
	}
	if err := os.WriteFile(d.ConfigFile, def, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.ConfigDir, "00.conf"), dropIn, 0o644); err != nil {
		t.Fatal(err)
	}
	d.Start()
	ctx := framework.Ctx(t)

	image := reg.Addr + "/busybox:test"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err != nil {
		t.Fatal(err)
	}
	// crictl ignores fields it does not know; so do we here.
	unmarshal := protojson.UnmarshalOptions{DiscardUnknown: true}
	podCfg := &runtimeapi.PodSandboxConfig{}
	if err := unmarshal.Unmarshal([]byte(readHarnessFixture(t, "sandbox_config.json")), podCfg); err != nil {
		t.Fatal(err)
	}
	podCfg.LogDirectory = p("podlogs")
	// The fixture's parent is a systemd slice; like CRI-O under cgroupfs,
	// which refuses slices too, the harness runs it without one.
	podCfg.Linux.CgroupParent = ""
	podID, st := runPod(t, d, podCfg)
	if st.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod state %v", st.State)
	}
	ctrCfg := &runtimeapi.ContainerConfig{}
	if err := unmarshal.Unmarshal([]byte(strings.ReplaceAll(readHarnessFixture(t, "container_config.json"), "IMAGE", image)), ctrCfg); err != nil {
		t.Fatal(err)
	}
	// Env values are bytes in this API version (base64 in protojson): set here.
	ctrCfg.Envs = []*runtimeapi.KeyValue{{Key: "GLIBC_TUNABLES", Value: []byte("glibc.pthread.rseq=0")}}
	resp, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: ctrCfg, SandboxConfig: podCfg})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
		t.Fatalf("start: %v", err)
	}
	r, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: resp.ContainerId, Cmd: []string{"hostname"}, Timeout: 10})
	if err != nil || strings.TrimSpace(string(r.Stdout)) != "crictl_host" {
		t.Fatalf("hostname: %v %q %q", err, r.GetStdout(), r.GetStderr())
	}
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	d.Stop()
}

func readHarnessFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "harness", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
