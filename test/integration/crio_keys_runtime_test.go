package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestCRIOKeysRuntime (issue 22, runtime keys): imagestore, monitor_env,
// monitor_cgroup, ctr_stop_timeout / container_create_timeout as crictl info
// reports them, and default_runtime changed by SIGHUP, on one daemon.
func TestCRIOKeysRuntime(t *testing.T) {
	requireCgroupV1Memory(t)
	store, err := os.MkdirTemp("/var/tmp", "crt-imgstore-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { framework.CleanupDir(t, store) })
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not found")
	}
	runc2Root := filepath.Join(store, "runc2")
	dropIn := "[crio]\nimagestore = " + strconv.Quote(store) + "\n" +
		"[crio.runtime]\nctr_stop_timeout = 5\n" +
		"[crio.runtime.runtimes.runc]\nmonitor_cgroup = \"\"\ncontainer_create_timeout = 10\n" +
		"monitor_env = [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"CRIO_KEYS_MONITOR=1\"]\n" +
		"[crio.runtime.runtimes.runc2]\nruntime_path = " + strconv.Quote(runc) + "\nruntime_root = " + strconv.Quote(runc2Root) + "\n"
	e := newEnvWith(t, registry.Image{}, framework.Options{DropIn: dropIn, Env: []string{"CRIO_KEYS_DAEMON_ONLY=1"}})
	imageID := strings.TrimPrefix(e.imgRef, "sha256:")

	t.Run("imagestore", func(t *testing.T) {
		inStore, err := os.ReadFile(filepath.Join(store, "vfs-images", "images.json"))
		if err != nil || !strings.Contains(string(inStore), imageID) {
			t.Errorf("pulled image %s not recorded in the imagestore: %v", imageID, err)
		}
		inRoot, _ := os.ReadFile(filepath.Join(e.d.Dir, "storage", "vfs-images", "images.json"))
		if strings.Contains(string(inRoot), imageID) {
			t.Errorf("image recorded under root as well")
		}
	})

	t.Run("monitor_env and monitor_cgroup", func(t *testing.T) {
		for _, tc := range []struct {
			handler    string
			inPod, env bool // monitor in the pod's cgroup; has monitor_env's extra variable
		}{{"runc", false, true}, {"runc2", true, false}} {
			parent := "/crio-keys-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			dir := filepath.Join("/sys/fs/cgroup/memory", parent)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Skipf("cgroup v1 memory: %v", err)
			}
			cfg := framework.PodConfig("mon-" + tc.handler)
			cfg.Linux.CgroupParent = parent
			resp, err := e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: tc.handler})
			if err != nil {
				t.Fatal(err)
			}
			id := e.create(t, resp.PodSandboxId, cfg, "mon", "sleep", "3600")
			e.start(t, id)
			st, err := e.d.Runtime.ContainerStatus(framework.Ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
			if err != nil {
				t.Fatal(err)
			}
			mon := between(st.Info["info"], `"monitorPid":`, `,`)
			environ, err := os.ReadFile("/proc/" + mon + "/environ")
			if err != nil {
				t.Fatalf("monitor %s: %v", mon, err)
			}
			vars := "\x00" + string(environ)
			if strings.Contains(vars, "\x00CRIO_KEYS_DAEMON_ONLY=") {
				t.Errorf("%s: the monitor inherited the daemon's environment", tc.handler)
			}
			if got := strings.Contains(vars, "\x00CRIO_KEYS_MONITOR=1\x00"); got != tc.env {
				t.Errorf("%s: monitor_env variable present=%v, want %v", tc.handler, got, tc.env)
			}
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if got := strings.Contains("\n"+string(procs), "\n"+mon+"\n"); got != tc.inPod {
				t.Errorf("%s: monitor %s in the pod cgroup=%v, want %v", tc.handler, mon, got, tc.inPod)
			}
			if _, err := e.d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: resp.PodSandboxId}); err != nil {
				t.Fatal(err)
			}
			removeCgroupParent(parent)
		}
	})

	t.Run("timeouts in crictl info", func(t *testing.T) {
		st, err := e.d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"ctr_stop_timeout":30`, `"CtrStopTimeout":30`, `"ContainerCreateTimeout":30`, `"ContainerCreateTimeout":240`, `"sandboxImage":""`, `"DefaultRuntime":"runc"`} {
			if !strings.Contains(st.Info["config"], want) {
				t.Errorf("crictl info config lacks %s", want)
			}
		}
		if !strings.Contains(e.d.Logs(), "forcing crio.runtime.ctr_stop_timeout to lowest possible value of 30s") {
			t.Error("raising ctr_stop_timeout is not logged")
		}
	})

	t.Run("default_runtime reload", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(e.d.ConfigDir, "60-default.conf"), []byte("[crio.runtime]\ndefault_runtime = \"runc2\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.d.Signal(syscall.SIGHUP)
		e.d.WaitLog("key=crio.runtime.default_runtime", 10*time.Second)
		st, err := e.d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(st.Info["config"], `"default_runtime":"runc2"`) || !strings.Contains(st.Info["config"], `"DefaultRuntime":"runc2"`) {
			t.Errorf("crictl info keeps the old default_runtime")
		}
		out, err := exec.Command(filepath.Join(framework.Binaries(t), "crio"), "status", "--socket", e.d.Socket, "config").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "\ndefault_runtime = \"runc2\"\n") {
			t.Errorf("crio status config: %v\n%.400s", err, out)
		}
		// A pod naming no handler now runs on runc2 (its infra process shows it).
		cfg := framework.PodConfig("newdefault")
		cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
		podID, _ := runPod(t, e.d, cfg)
		list, _ := exec.Command(runc, "--root", runc2Root, "list", "-q").Output()
		if !strings.Contains(string(list), podID) {
			t.Errorf("pod %s not run by the new default handler runc2: %q", podID, list)
		}
		if _, err := e.d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCRIOKeysStartChecks: the values CRI-O checks at start are checked
// (and adjusted) the same way, before any state is touched.
func TestCRIOKeysStartChecks(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		fails      bool
		want, not  string
	}{
		{"bad container_level_enabled", "[crio.checkpoint_restore]\ncontainer_level_enabled = \"all\"\n", true, "crio.checkpoint_restore.container_level_enabled", ""},
		{"enable_criu_support false means none", "[crio.runtime]\nenable_criu_support = false\n[crio.checkpoint_restore]\ncontainer_level_enabled = \"checkpoint_restore\"\n", false, "container_level_enabled = \"none\"\n", ""},
		{"bad tls_min_version", "[crio.api]\ntls_min_version = \"VersionTLS11\"\n", true, "must be VersionTLS12 or VersionTLS13", ""},
		{"bad tls_cipher_suites", "[crio.api]\ntls_cipher_suites = [\"TLS_RSA_WITH_RC4_128_SHA\"]\n", true, "crio.api.tls_cipher_suites", ""},
		{"bad monitor_cgroup on cgroupfs", "[crio.runtime.runtimes.runc]\nmonitor_cgroup = \"machine.slice\"\n", true, "monitor cgroup should be \"pod\" or empty", ""},
		{"CRI-O's system.slice on cgroupfs", "[crio.runtime.runtimes.runc]\nmonitor_cgroup = \"system.slice\"\n", false, "\nmonitor_cgroup = \"\"\n", ""},
		{"conmon_cgroup replaces monitor_cgroup", "[crio.runtime]\nconmon_cgroup = \"pod\"\n[crio.runtime.runtimes.runc]\nmonitor_cgroup = \"\"\n", false, "\n# monitor_cgroup = \"pod\"\n", ""},
		{"conmon replaces monitor_path", "[crio.runtime]\nconmon = \"/usr/bin/conmon\"\n", false, "\nmonitor_path = \"/usr/bin/conmon\"\n", ""},
		{"bad monitor_exec_cgroup", "[crio.runtime.runtimes.runc]\nmonitor_exec_cgroup = \"pod\"\n", true, "monitor_exec_cgroup", ""},
		{"inherit_default_runtime", "[crio.runtime.runtimes.runc]\nruntime_root = \"/run/inherited\"\n[crio.runtime.runtimes.kid]\ninherit_default_runtime = true\nruntime_root = \"/run/own\"\n", false, "runtime_root = \"/run/inherited\"", "/run/own"},
		{"create timeout raised to 30", "[crio.runtime.runtimes.runc]\ncontainer_create_timeout = 1\n", false, "\ncontainer_create_timeout = 30\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := framework.NewDaemon(t, framework.Options{DropIn: tc.conf})
			out, err := d.Command("config").CombinedOutput()
			if (err != nil) != tc.fails || !strings.Contains(string(out), tc.want) || (tc.not != "" && strings.Contains(string(out), tc.not)) {
				t.Errorf("crio config: err=%v (want failure %v), output lacks %q:\n%.600s", err, tc.fails, tc.want, out)
			}
		})
	}
}
