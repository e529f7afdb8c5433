package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/pkg/config"
	"github.com/crio-runtime/crio/test/framework"
)

const compatWarning = "accepted for CRI-O compatibility but not implemented"

// compatDaemon prepares a daemon whose main config is mainConf (a node's
// crio.conf) with the given drop-ins; the framework's private paths are
// applied last, as a drop-in, so the test touches nothing of the host.
func compatDaemon(t *testing.T, mainConf string, dropIns map[string]string, opts framework.Options) *framework.Daemon {
	t.Helper()
	d := framework.NewDaemon(t, opts)
	private, err := os.ReadFile(d.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	private = append(private, []byte("\n[crio.runtime.runtimes.crun]\nruntime_root = \""+filepath.Join(d.Dir, "run", "crun")+"\"\n")...)
	files := map[string]string{d.ConfigFile: mainConf, filepath.Join(d.ConfigDir, "99-test-private.conf"): string(private),
		// The test daemon uses vfs, which takes no overlay options.
		filepath.Join(d.ConfigDir, "98-test-storage.conf"): "[crio]\nstorage_option = []\n"}
	for name, body := range dropIns {
		files[filepath.Join(d.ConfigDir, name)] = body
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readFixture(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "compat", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var warnField = regexp.MustCompile(`(keys|flags)=("[^"]*"|\S*)`)

// compatReport returns the keys and flags named in the one start-up warning.
func compatReport(t *testing.T, logs string) (keys, flags []string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, compatWarning) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 1 {
		t.Errorf("want one compatibility warning, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if len(lines) == 0 {
		return nil, nil
	}
	for _, m := range warnField.FindAllStringSubmatch(lines[0], -1) {
		var list []string
		for _, s := range strings.Split(strings.Trim(m[2], `"`), ",") {
			if s != "" {
				list = append(list, s)
			}
		}
		sort.Strings(list)
		if m[1] == "keys" {
			keys = list
		} else {
			flags = list
		}
	}
	return keys, flags
}

func checkReport(t *testing.T, d *framework.Daemon, wantKeys, wantFlags []string) {
	t.Helper()
	if config.DetectHost().AppArmor { // then apparmor_profile is implemented
		var kept []string
		for _, k := range wantKeys {
			if k != "crio.runtime.apparmor_profile" {
				kept = append(kept, k)
			}
		}
		wantKeys = kept
	}
	sort.Strings(wantKeys)
	sort.Strings(wantFlags)
	keys, flags := compatReport(t, d.Logs())
	if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("warned keys:\n  %v\nwant\n  %v", keys, wantKeys)
	}
	if strings.Join(flags, ",") != strings.Join(wantFlags, ",") {
		t.Errorf("warned flags:\n  %v\nwant\n  %v", flags, wantFlags)
	}
}

// TestCompatAllCRIOKeysAtDefaults: a crio.conf holding every CRI-O 1.37 key at
// its documented default starts the daemon; the warning names the defaults
// that ask for something this runtime does not do.
func TestCompatAllCRIOKeysAtDefaults(t *testing.T) {
	d := compatDaemon(t, readFixture(t, "crio-1.37-defaults.conf"), nil, framework.Options{})
	d.Start()
	checkReport(t, d, []string{
		"crio.internal_repair", "crio.runtime.apparmor_profile", "crio.runtime.enable_criu_support",
		"crio.checkpoint_restore.container_level_enabled", "crio.image.oci_artifact_mount_support",
		"crio.image.signature_policy_dir", "crio.runtime.runtimes.crun.container_min_memory",
	}, nil)
	st, err := d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	// crictl info shows the effective config under "config", by TOML key.
	for _, want := range []string{`"default_runtime":"crun"`, `"enable_nri":true`, `"container_create_timeout":240`, `"tracing_endpoint":"127.0.0.1:4317"`} {
		if !strings.Contains(st.Info["config"], want) {
			t.Errorf("status config lacks %s", want)
		}
	}
	d.Stop()
}

// TestCompatKubesprayConfigAndDropIns: an installer-written crio.conf plus
// drop-ins starts; C conmon is replaced by conmon-go and said so.
func TestCompatKubesprayConfigAndDropIns(t *testing.T) {
	dropIns := map[string]string{}
	for _, n := range []string{"01-registries.conf", "10-workload-partitioning.conf", "20-nri.conf"} {
		dropIns[n] = readFixture(t, filepath.Join("kubespray", "crio.conf.d", n))
	}
	d := compatDaemon(t, readFixture(t, "kubespray/crio.conf"), dropIns, framework.Options{})
	d.Start()
	checkReport(t, d, []string{
		"crio.runtime.apparmor_profile",
		"crio.runtime.infra_ctr_cpuset", "crio.runtime.pinns_path",
	}, nil)
	logs := d.Logs()
	if !strings.Contains(logs, "containers are monitored by conmon-go") || !strings.Contains(logs, "crio.runtime.runtimes.crun.monitor_path=/usr/bin/conmon") {
		t.Errorf("C conmon replacement not logged:\n%s", logs)
	}
	out, err := exec.Command(filepath.Join(framework.Binaries(t), "crio"), "status", "--socket", d.Socket, "config").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "not implemented (no effect): ") || !strings.Contains(string(out), "crio.runtime.pinns_path") ||
		!strings.Contains(string(out), "\npinned_images = [\"registry.k8s.io/pause:3.10\"]\n") {
		t.Errorf("crio status config:\n%.600s", out)
	}
	d.Stop()
}

// TestCompatSysconfigCommandLine: a unit's $CRIO_*_OPTIONS with CRI-O's
// flags, and CONTAINER_* environment, start the daemon.
func TestCompatSysconfigCommandLine(t *testing.T) {
	// The framework owns the paths (socket, root, CNI dir); the rest is what
	// a CRI-O sysconfig file typically holds.
	sysconfig := map[string]string{
		"CRIO_RUNTIME_OPTIONS": "--log-level debug --cgroup-manager cgroupfs --conmon /usr/bin/conmon --conmon-cgroup pod --pinns-path /usr/bin/pinns --default-runtime crun --runtimes crun:/usr/bin/crun:" + t.TempDir() + ":oci:false --selinux=false --drop-infra-ctr=true --tz UTC --hooks-dir /usr/share/containers/oci/hooks.d --profile-port 6060",
		"CRIO_STORAGE_OPTIONS": "-s vfs",
		"CRIO_NETWORK_OPTIONS": "--cni-plugin-dir /usr/lib/cni --cni-default-network crio-test",
		"CRIO_METRICS_OPTIONS": "--enable-metrics=false --metrics-port 9090 --enable-nri=false",
	}
	var args []string
	for _, v := range []string{"CRIO_RUNTIME_OPTIONS", "CRIO_STORAGE_OPTIONS", "CRIO_NETWORK_OPTIONS", "CRIO_METRICS_OPTIONS"} {
		args = append(args, strings.Fields(sysconfig[v])...)
	}
	d := framework.StartDaemon(t, framework.Options{Args: args, Env: []string{"CONTAINER_INFRA_CTR_CPUSET=0", "CONTAINER_STOP_TIMEOUT=45"}})
	checkReport(t, d, nil, []string{"--pinns-path", "--drop-infra-ctr", "--infra-ctr-cpuset"})
	if _, err := os.Stat(d.NRISocket()); err == nil {
		t.Error("--enable-nri=false still opened the NRI socket")
	}
	st, err := d.Runtime.Status(framework.Ctx(t), &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"default_runtime":"crun"`, `"timezone":"UTC"`, `"ctr_stop_timeout":45`, `"storage_driver":"vfs"`, `"cni_default_network":"crio-test"`} {
		if !strings.Contains(st.Info["config"], want) {
			t.Errorf("status config lacks %s", want)
		}
	}
	d.Stop()
}

// TestCompatBadConfigFails: a value of the wrong type names the file; a value
// asking for a security property this runtime cannot give is a clear error.
// (Unknown keys are a warning: TestCompatCRIODefaultFileAndOldKeys.)
func TestCompatBadConfigFails(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"type":    {"[crio.runtime]\ndrop_infra_ctr = \"yes\"\n", `drop_infra_ctr`},
		"selinux": {"[crio.runtime]\nselinux = true\n", "crio.runtime.selinux: SELinux labelling is not supported"},
		"userns":  {"[crio.runtime]\nuid_mappings = \"0:100000:65536\"\n", "crio.runtime.uid_mappings"},
	} {
		t.Run(name, func(t *testing.T) {
			d := framework.NewDaemon(t, framework.Options{})
			p := filepath.Join(d.ConfigDir, "50-"+name+".conf")
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := d.Command().CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("want failure naming %q, got %v:\n%s", tc.want, err, out)
			}
			if name == "type" && !strings.Contains(string(out), p) {
				t.Errorf("error does not name the file %s:\n%s", p, out)
			}
		})
	}
}

// TestCompatConfigDefaultIsPure: `crio config --default` ignores files, flags
// and environment and prints every key commented out.
func TestCompatConfigDefaultIsPure(t *testing.T) {
	cmd := exec.Command(filepath.Join(framework.Binaries(t), "crio"), "--root", "/x", "config", "--default")
	cmd.Env = append(os.Environ(), "CONTAINER_LOG_DIR=/env/logs")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "[") {
			t.Errorf("--default printed a live value: %q", line)
		}
	}
	for _, o := range config.Options() {
		if !strings.Contains(string(out), "\n# "+o.Key+" = ") {
			t.Errorf("--default lacks %s", o.Path())
		}
	}
	// Short aliases, and -c "" / -d "" meaning no file and no drop-in dir.
	out, err = exec.Command(filepath.Join(framework.Binaries(t), "crio"), "-c", "", "-d", "", "-r", "/x", "-s", "vfs", "-l", "warn", "--tz", "UTC", "config").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nroot = \"/x\"\n", "\nstorage_driver = \"vfs\"\n", "\nlog_level = \"warn\"\n", "\ntimezone = \"UTC\"\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("crio -c \"\" -d \"\" ... config lacks %q", want)
		}
	}
}

// TestCompatSdNotifyWatchdog: under Type=notify with WatchdogSec the daemon
// reports READY=1 and then pings the watchdog.
func TestCompatSdNotifyWatchdog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := framework.StartDaemon(t, framework.Options{Env: []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=200000"}})
	seen := map[string]bool{}
	buf := make([]byte, 256)
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !seen["READY=1"] || !seen["WATCHDOG=1"] {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("notifications so far %v: %v", seen, err)
		}
		seen[string(buf[:n])] = true
	}
	d.Stop()
}
