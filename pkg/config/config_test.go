package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c := DefaultFor(Host{})
	checks := map[string]any{
		"crio.root":                        "/var/lib/containers/storage",
		"crio.runroot":                     "/run/containers/storage",
		"crio.api.listen":                  "/var/run/crio/crio.sock",
		"crio.runtime.cgroup_manager":      "cgroupfs",
		"crio.runtime.default_runtime":     "runc",
		"crio.network.network_dir":         "/etc/cni/net.d",
		"crio.network.plugin_dirs":         []string{"/opt/cni/bin", "/usr/lib/cni"},
		"crio.image.signature_policy":      "/etc/containers/policy.json",
		"crio.image.registries_conf":       "/etc/containers/registries.conf",
		"crio.image.pull_progress_timeout": Duration{time.Minute},
		"crio.metrics.enable_metrics":      false,
		"crio.metrics.metrics_port":        9090,
		"crio.runtime.default_capabilities": []string{
			"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "KILL"},
	}
	for _, o := range Options() {
		want, ok := checks[o.Path()]
		if !ok {
			continue
		}
		delete(checks, o.Path())
		if got := o.Value(c).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", o.Path(), got, want)
		}
	}
	for k := range checks {
		t.Errorf("no option %s", k)
	}
	if DefaultFor(Host{Systemd: true}).Crio.Runtime.CgroupManager != "systemd" {
		t.Error("cgroup_manager should default to systemd where systemd runs")
	}
	if err := DefaultFor(Host{}).Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestDropInOrder(t *testing.T) {
	dir := t.TempDir()
	main := writeFile(t, dir, "crio.conf", "[crio]\nroot = \"/main\"\nrunroot = \"/main-run\"\n[crio.runtime.runtimes.runc]\nruntime_root = \"/main-runc\"\nmonitor_path = \"/usr/bin/conmon-go\"\n")
	drop := filepath.Join(dir, "crio.conf.d")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, drop, "20-b.conf", "[crio]\nroot = \"/b\"\n")
	writeFile(t, drop, "10-a.conf", "[crio]\nroot = \"/a\"\nlog_dir = \"/a-logs\"\n[crio.runtime.runtimes.runc]\nruntime_root = \"/dropin-runc\"\n[crio.runtime.runtimes.second]\nruntime_path = \"/usr/bin/runc\"\n")
	writeFile(t, drop, "30-ignored.txt", "not toml")

	files, err := Files(main, drop)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{main, filepath.Join(drop, "10-a.conf"), filepath.Join(drop, "20-b.conf")}; !reflect.DeepEqual(files, want) {
		t.Fatalf("files = %v, want %v", files, want)
	}
	c, _, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	if c.Crio.Root != "/b" || c.Crio.LogDir != "/a-logs" || c.Crio.RunRoot != "/main-run" {
		t.Errorf("root=%s log_dir=%s runroot=%s: later files must win key by key", c.Crio.Root, c.Crio.LogDir, c.Crio.RunRoot)
	}
	runc := c.Crio.Runtime.Runtimes["runc"]
	if runc.RuntimeRoot != "/dropin-runc" || runc.MonitorPath != "/usr/bin/conmon-go" || runc.RuntimeType != "oci" {
		t.Errorf("runc handler %+v: a drop-in must change only the keys it sets", runc)
	}
	if h := c.Crio.Runtime.Runtimes["second"]; h == nil || h.RuntimePath != "/usr/bin/runc" || h.RuntimeType != "oci" {
		t.Errorf("second handler %+v", h)
	}
	if files, _ := Files("", ""); len(files) != 0 {
		t.Errorf("empty names must read nothing, got %v", files)
	}
	if files, _ := Files(filepath.Join(dir, "missing.conf"), filepath.Join(dir, "missing.d")); len(files) != 0 {
		t.Errorf("missing default files are not an error, got %v", files)
	}
}

func TestUnknownKeyAndBadValues(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ body, want string }{
		"wrong type":   {"[crio]\nroot = 5\n", "root"},
		"bad duration": {"[crio.image]\npull_progress_timeout = \"soon\"\n", `invalid duration "soon"`},
	} {
		p := writeFile(t, dir, strings.ReplaceAll(name, " ", "_")+".conf", tc.body)
		_, _, err := Load([]string{p})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want it to name %q and the file", name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"cgroup manager":  {func(c *Config) { c.Crio.Runtime.CgroupManager = "cgroupsv3" }, `invalid value "cgroupsv3" for crio.runtime.cgroup_manager`},
		"default runtime": {func(c *Config) { c.Crio.Runtime.DefaultRuntime = "kata" }, `invalid value "kata" for crio.runtime.default_runtime`},
		"relative root":   {func(c *Config) { c.Crio.Root = "var/lib" }, `invalid value "var/lib" for crio.root`},
		"log level":       {func(c *Config) { c.Crio.Runtime.LogLevel = "loud" }, `invalid value "loud" for crio.runtime.log_level`},
		"capability":      {func(c *Config) { c.Crio.Runtime.DefaultCapabilities = []string{"CHOWN", "FLY"} }, `invalid value "FLY" for crio.runtime.default_capabilities`},
		"stream port":     {func(c *Config) { c.Crio.API.StreamPort = "99999" }, `invalid value "99999" for crio.api.stream_port`},
		"metrics port":    {func(c *Config) { c.Crio.Metrics.MetricsPort = 0 }, `invalid value 0 for crio.metrics.metrics_port`},
		"image volumes":   {func(c *Config) { c.Crio.Image.ImageVolumes = "copy" }, `invalid value "copy" for crio.image.image_volumes`},
		"ulimit":          {func(c *Config) { c.Crio.Runtime.DefaultUlimits = []string{"nofile=9:1"} }, `invalid value "nofile=9:1" for crio.runtime.default_ulimits`},
		"subnet":          {func(c *Config) { c.Crio.Network.DefaultSubnet = "10.0.0.0" }, `crio.network.default_subnet`},
		"selinux":         {func(c *Config) { c.Crio.Runtime.SELinux = true }, `crio.runtime.selinux`},
		"log size max":    {func(c *Config) { c.Crio.Runtime.LogSizeMax = 8191 }, `invalid value 8191 for crio.runtime.log_size_max`},
		"handler type":    {func(c *Config) { c.Crio.Runtime.Runtimes["runc"].RuntimeType = "vm" }, `crio.runtime.runtimes.runc.runtime_type`},
		"sysctl spaces":   {func(c *Config) { c.Crio.Runtime.DefaultSysctls = []string{"net.ipv4.ip_forward = 1"} }, `extra spaces`},
		"pod metrics":     {func(c *Config) { c.Crio.Stats.IncludedPodMetrics = []string{"cpu", "gpu"} }, `invalid value "gpu" for crio.stats.included_pod_metrics`},
		"all not alone":   {func(c *Config) { c.Crio.Stats.IncludedPodMetrics = []string{"all", "cpu"} }, `crio.stats.included_pod_metrics`},
	} {
		c := DefaultFor(Host{})
		tc.mut(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// TestUlimitsAsSpec: startup accepts every default_ulimits value the spec
// builder accepts (both parse with procattr.ParseUlimit), -1 meaning unlimited.
func TestUlimitsAsSpec(t *testing.T) {
	for _, u := range []string{"nofile=-1:-1", "memlock=-1", "NOFILE=1024:2048", "core=0"} {
		c := DefaultFor(Host{})
		c.Crio.Runtime.DefaultUlimits = []string{u}
		if err := c.Validate(); err != nil {
			t.Errorf("default_ulimits %q: %v", u, err)
		}
	}
}

// TestWriteRoundTrip proves `crio config` output read back gives the same config.
func TestWriteRoundTrip(t *testing.T) {
	def := DefaultFor(Host{})
	c := def.Clone()
	c.Crio.Root = "/x"
	c.Crio.Runtime.CgroupManager = "systemd"
	c.Crio.Runtime.DefaultCapabilities = []string{"CHOWN"}
	c.Crio.Image.PullProgressTimeout = Duration{5 * time.Second}
	c.Crio.Image.PinnedImages = []string{"registry.k8s.io/pause*"}
	c.Crio.Runtime.Runtimes["runc"].RuntimeRoot = "/run/other"
	c.Crio.Runtime.Runtimes["second"] = &RuntimeHandler{RuntimePath: "/usr/bin/runc", RuntimeType: "oci", RuntimeRoot: "/run/second", MonitorCgroup: "pod", AllowedAnnotations: []string{}}
	c.Crio.Metrics.EnableMetrics = true

	var out bytes.Buffer
	if err := c.Write(&out, def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\nroot = \"/x\"\n") || !strings.Contains(out.String(), "\n# runroot = ") {
		t.Errorf("changed values must be live and defaults commented:\n%s", out.String()[:600])
	}
	p := writeFile(t, t.TempDir(), "out.conf", out.String())
	back := DefaultFor(Host{})
	if _, err := back.UpdateFromFile(p); err != nil {
		t.Fatal(err)
	}
	for _, o := range Options() {
		if got, want := normalize(o.Value(back).Interface()), normalize(o.Value(c).Interface()); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read back %v, want %v", o.Path(), got, want)
		}
	}
	if !reflect.DeepEqual(back.Crio.Runtime.Runtimes, c.Crio.Runtime.Runtimes) {
		t.Errorf("handlers read back %+v, want %+v", back.Crio.Runtime.Runtimes["second"], c.Crio.Runtime.Runtimes["second"])
	}
}

// TestExampleIsCurrent fails when crio.conf.example was not regenerated
// (make crio.conf.example) after the tree changed.
func TestExampleIsCurrent(t *testing.T) {
	var want bytes.Buffer
	def := DefaultFor(ExampleHost)
	if err := def.Write(&want, def); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../crio.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("crio.conf.example is out of date: run `make crio.conf.example`")
	}
}

func TestReload(t *testing.T) {
	c := DefaultFor(Host{})
	next := c.Clone()
	next.Crio.Runtime.LogLevel = "debug"
	next.Crio.Image.PinnedImages = []string{"a"}
	next.Crio.Root = "/elsewhere" // needs a restart: not applied
	next.Crio.Runtime.Runtimes["added"] = NewHandler()
	changes := c.Reload(next)
	var keys []string
	for _, ch := range changes {
		keys = append(keys, ch.Key)
	}
	want := []string{"crio.runtime.log_level", "crio.image.pinned_images", "crio.runtime.runtimes.added"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("changes %v, want %v", keys, want)
	}
	if c.Crio.Root == "/elsewhere" || c.Crio.Runtime.LogLevel != "debug" || c.Crio.Runtime.Runtimes["added"] == nil {
		t.Errorf("reload applied the wrong keys: %+v", c.Crio)
	}
}

func TestOptionsDescribedOnce(t *testing.T) {
	flags, envs := map[string]string{}, map[string]string{}
	for _, o := range Options() {
		if o.Doc == "" {
			t.Errorf("%s has no doc", o.Path())
		}
		if o.Flag == "" {
			continue
		}
		if prev, ok := flags[o.Flag]; ok {
			t.Errorf("flag --%s used by %s and %s", o.Flag, prev, o.Path())
		}
		flags[o.Flag] = o.Path()
		for _, e := range o.Env {
			if prev, ok := envs[e]; ok {
				t.Errorf("env %s used by %s and %s", e, prev, o.Path())
			}
			envs[e] = o.Path()
		}
		for _, a := range o.Aliases {
			if prev, ok := flags[a]; ok {
				t.Errorf("flag alias %s used by %s and %s", a, prev, o.Path())
			}
			flags[a] = o.Path()
		}
	}
	for _, o := range HandlerOptions() {
		if o.Doc == "" {
			t.Errorf("%s has no doc", o.Path())
		}
	}
}

func TestMapRoundTripThroughJSON(t *testing.T) {
	c := DefaultFor(Host{})
	c.Crio.Root = "/r"
	m, err := c.ToMap()
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"listen":"/var/run/crio/crio.sock"`) {
		t.Errorf("map must use TOML key names: %s", data[:200])
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got, err := FromMap(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip differs:\n%+v\n%+v", got.Crio, c.Crio)
	}
}
