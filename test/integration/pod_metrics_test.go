package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// podMetrics is one pod's ListPodSandboxMetrics answer by metric name:
// the pod-level series and those of its container ctr.
type podMetrics struct {
	pod, ctr map[string][]*runtimeapi.Metric
}

func listPodMetrics(t *testing.T, d *framework.Daemon, podID, ctrID string) podMetrics {
	t.Helper()
	r, err := d.Runtime.ListPodSandboxMetrics(framework.Ctx(t), &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := podMetrics{pod: map[string][]*runtimeapi.Metric{}, ctr: map[string][]*runtimeapi.Metric{}}
	for _, pm := range r.PodMetrics {
		if pm.PodSandboxId != podID {
			continue
		}
		for _, m := range pm.Metrics {
			out.pod[m.Name] = append(out.pod[m.Name], m)
		}
		for _, cm := range pm.ContainerMetrics {
			if cm.ContainerId != ctrID {
				continue
			}
			for _, m := range cm.Metrics {
				out.ctr[m.Name] = append(out.ctr[m.Name], m)
			}
		}
	}
	return out
}

func descriptorNames(t *testing.T, d *framework.Daemon) map[string][]string {
	t.Helper()
	r, err := d.Runtime.ListMetricDescriptors(framework.Ctx(t), &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, x := range r.Descriptors {
		out[x.Name] = x.LabelKeys
	}
	return out
}

// value is the single series of name, or fails.
func value(t *testing.T, ms map[string][]*runtimeapi.Metric, name string) uint64 {
	t.Helper()
	if len(ms[name]) != 1 {
		t.Fatalf("%s: %d series, want 1", name, len(ms[name]))
	}
	return ms[name][0].Value.GetValue()
}

// cgroupFile reads a file of the container's v1 memory cgroup.
func cgroupFile(t *testing.T, e *env, id, file string) uint64 {
	t.Helper()
	out, _, _ := e.exec(t, id, "cat", "/proc/1/cgroup")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "memory") {
			b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", f[2], file))
			if err != nil {
				t.Skipf("no v1 memory cgroup: %v", err)
			}
			v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Skipf("no v1 memory cgroup in %q", out)
	return 0
}

func near(a, b, tol uint64) bool { return a+tol >= b && b+tol >= a }

// TestPodSandboxMetricsAsCRIO runs CRI-O's cri-metrics checks: the groups
// of included_pod_metrics (an empty list reports only container_last_seen),
// cgroup v1 memory values equal to the cgroup's files, the writable layer
// and its filesystem, block IO, the configured resources, last seen, and
// the pod's network series naming exactly the pod's interfaces.
func TestPodSandboxMetricsAsCRIO(t *testing.T) {
	// An empty list (CRI-O's default; ours is "all"): only the always-on descriptor.
	plain := framework.StartDaemon(t, framework.Options{DropIn: "[crio.stats]\nincluded_pod_metrics = []\n"})
	if got := descriptorNames(t, plain); len(got) != 1 || got["container_last_seen"] == nil {
		t.Errorf("descriptors with an empty included_pod_metrics: %v", got)
	}
	plainPod, _ := runPod(t, plain, framework.PodConfig("plain"))
	if m := listPodMetrics(t, plain, plainPod, ""); len(m.pod) != 0 {
		t.Errorf("pod series with an empty included_pod_metrics: %v", m.pod)
	}

	e := newEnvWith(t, registry.Image{}, framework.Options{DropIn: `[crio.stats]
included_pod_metrics = ["network", "memory", "spec", "disk", "diskIO", "process"]
`})
	podID, podCfg := e.pod(t, "metrics")
	before := time.Now().Unix()
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "ctr"},
		Command:  []string{"sleep", "3600"},
		Linux: &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
			CpuPeriod: 10000, CpuQuota: 20000, CpuShares: 512,
			MemoryLimitInBytes: 256 << 20, MemorySwapLimitInBytes: 256 << 20,
		}},
	})
	// Page cache, a written file in the writable layer, synced to disk.
	e.exec(t, id, "sh", "-c", "dd if=/dev/zero of=/written bs=1M count=4 conv=fsync 2>/dev/null; for i in 1 2 3 4 5; do dd if=/dev/zero of=/dev/null bs=1M count=10 2>/dev/null; done")
	descs := descriptorNames(t, e.d)
	m := listPodMetrics(t, e.d, podID, id)
	ifaces := func(ms map[string][]*runtimeapi.Metric) []string {
		var out []string
		for _, x := range ms["container_network_receive_bytes_total"] {
			out = append(out, x.LabelValues[len(x.LabelValues)-1])
		}
		slices.Sort(out)
		return out
	}

	for _, tc := range []struct {
		name  string
		check func(t *testing.T)
	}{
		{"groups and labels", func(t *testing.T) {
			for _, n := range []string{"container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total", "container_oom_events_total"} {
				if descs[n] != nil || m.ctr[n] != nil {
					t.Errorf("%s reported though its group is not included", n)
				}
			}
			want := []string{"id", "image", "namespace", "pod", "container"}
			if !slices.Equal(descs["container_last_seen"], want) {
				t.Errorf("base label keys %v, want CRI-O's %v", descs["container_last_seen"], want)
			}
			for name, ms := range m.ctr {
				for _, x := range ms {
					if len(x.LabelValues) != len(descs[name]) || x.LabelValues[0] != id || x.LabelValues[3] != "metrics" || x.LabelValues[4] != "ctr" {
						t.Errorf("%s labels %v, keys %v", name, x.LabelValues, descs[name])
					}
				}
			}
		}},
		{"memory as the v1 cgroup", func(t *testing.T) {
			m := listPodMetrics(t, e.d, podID, id)
			if got, want := value(t, m.ctr, "container_memory_usage_bytes"), cgroupFile(t, e, id, "memory.usage_in_bytes"); !near(got, want, 1<<20) {
				t.Errorf("usage %d, cgroup %d", got, want)
			}
			if got, want := value(t, m.ctr, "container_memory_max_usage_bytes"), cgroupFile(t, e, id, "memory.max_usage_in_bytes"); !near(got, want, 1<<20) {
				t.Errorf("max usage %d, cgroup %d", got, want)
			}
			if got, want := value(t, m.ctr, "container_memory_failcnt"), cgroupFile(t, e, id, "memory.failcnt"); got != want {
				t.Errorf("failcnt %d, cgroup %d", got, want)
			}
			if got, want := value(t, m.ctr, "container_memory_kernel_usage"), cgroupFile(t, e, id, "memory.kmem.usage_in_bytes"); !near(got, want, 1<<20) {
				t.Errorf("kernel usage %d, cgroup %d", got, want)
			}
			if value(t, m.ctr, "container_memory_cache") == 0 || value(t, m.ctr, "container_memory_working_set_bytes") == 0 {
				t.Errorf("cache / working set: %v %v", m.ctr["container_memory_cache"], m.ctr["container_memory_working_set_bytes"])
			}
			// cAdvisor's memory.events counters: there on v1 too, at 0.
			for _, n := range []string{"container_memory_events_high_total", "container_memory_events_max_total"} {
				if len(m.ctr[n]) != 1 || value(t, m.ctr, n) != 0 {
					t.Errorf("%s: %v", n, m.ctr[n])
				}
			}
			if n := len(m.ctr["container_memory_failures_total"]); n != 4 {
				t.Errorf("memory failure series: %d", n)
			}
		}},
		{"disk", func(t *testing.T) {
			usage, total, free := value(t, m.ctr, "container_fs_usage_bytes"), value(t, m.ctr, "container_fs_inodes_total"), value(t, m.ctr, "container_fs_inodes_free")
			// cAdvisor's inodes: the layer's in use, none free.
			if usage < 4<<20 || value(t, m.ctr, "container_fs_limit_bytes") == 0 || free != 0 || total == 0 || total > 10000 {
				t.Errorf("usage %d (a 4 MiB file written), inodes total %d free %d", usage, total, free)
			}
			if len(m.ctr["container_fs_usage_bytes"][0].LabelValues) != 5 {
				t.Errorf("disk series labels %v, want the base ones only", m.ctr["container_fs_usage_bytes"][0].LabelValues)
			}
		}},
		{"disk io", func(t *testing.T) {
			var writes uint64
			for _, x := range m.ctr["container_fs_writes_bytes_total"] {
				writes += x.Value.GetValue()
			}
			if writes == 0 {
				t.Skipf("no block IO accounted to the container (storage on %v)", m.ctr["container_fs_limit_bytes"])
			}
			for _, x := range m.ctr["container_blkio_device_usage_total"] {
				if op := x.LabelValues[len(x.LabelValues)-1]; op != strings.ToLower(op) {
					t.Errorf("blkio operation %q, want lower case", op)
				}
			}
		}},
		{"spec", func(t *testing.T) {
			for name, want := range map[string]uint64{
				"container_spec_cpu_period": 10000, "container_spec_cpu_shares": 512, "container_spec_cpu_quota": 20000,
				"container_spec_memory_limit_bytes": 256 << 20, "container_spec_memory_swap_limit_bytes": 256 << 20,
				"container_spec_memory_reservation_limit_bytes": 0,
			} {
				if got := value(t, m.ctr, name); got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
			if st := value(t, m.ctr, "container_start_time_seconds"); st < uint64(before) || st > uint64(time.Now().Unix()) {
				t.Errorf("start time %d, created after %d", st, before)
			}
		}},
		{"process ulimits", func(t *testing.T) {
			out, _, _ := e.exec(t, id, "sh", "-c", "ulimit -n")
			if got := value(t, m.ctr, "container_ulimits_soft"); strconv.FormatUint(got, 10) != strings.TrimSpace(out) {
				t.Errorf("container_ulimits_soft %d, ulimit -n in the container %q", got, out)
			}
			if l := m.ctr["container_ulimits_soft"][0].LabelValues; l[len(l)-1] != "max_open_files" {
				t.Errorf("ulimit label %v", l)
			}
		}},
		{"last seen", func(t *testing.T) {
			if v := value(t, m.ctr, "container_last_seen"); v < uint64(before) {
				t.Errorf("last seen %d", v)
			}
		}},
		{"pod network is the pod's interfaces but lo, as cAdvisor's", func(t *testing.T) {
			out, _, _ := e.exec(t, id, "ls", "/sys/class/net")
			want := slices.DeleteFunc(strings.Fields(out), func(n string) bool { return n == "lo" })
			slices.Sort(want)
			if got := ifaces(m.pod); !slices.Equal(got, want) {
				t.Errorf("interfaces in metrics %v, in the pod %v", got, want)
			}
			for _, x := range m.pod["container_network_receive_bytes_total"] {
				if x.LabelValues[0] != podID || x.LabelValues[4] != "POD" {
					t.Errorf("pod series labels %v", x.LabelValues)
				}
			}
		}},
		{"host network pod reports the node's interfaces", func(t *testing.T) {
			cfg := framework.PodConfig("metrics-hostnet")
			cfg.Hostname = ""
			cfg.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
			hostPod, _ := runPod(t, e.d, cfg)
			ents, err := os.ReadDir("/sys/class/net")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, en := range ents {
				if n := en.Name(); n != "lo" && !strings.HasPrefix(n, "veth") {
					want = append(want, n)
				}
			}
			slices.Sort(want)
			// Other tests add and remove bridges meanwhile: compare loosely.
			got := ifaces(listPodMetrics(t, e.d, hostPod, "").pod)
			if len(got) == 0 || !near(uint64(len(got)), uint64(len(want)), 8) || slices.ContainsFunc(got, func(n string) bool { return n == "lo" || strings.HasPrefix(n, "veth") }) {
				t.Errorf("host pod interfaces %v, node %v (no lo, no veth)", got, want)
			}
		}},
	} {
		t.Run(tc.name, tc.check)
	}
}
