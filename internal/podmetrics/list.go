package podmetrics

import (
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/cristats"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
)

// Lister reports the described metrics from the collector's cache.
type Lister struct {
	Collector *stats.Collector
	GraphRoot string                  // the storage graph root, for the disk group
	Included  func(group string) bool // see Descriptors
	Log       *slog.Logger
}

// List reports every ready pod of pods: network series for the pod,
// cgroup and disk series per container of byPod.
func (l Lister) List(pods []*sandbox.Sandbox, byPod map[string][]*container.Container) []*runtimeapi.PodSandboxMetrics {
	inc := l.Included
	fs := l.graphRootFs()
	now := time.Now()
	var out []*runtimeapi.PodSandboxMetrics
	for _, sb := range pods {
		if !sb.IsReady() {
			continue
		}
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: sb.ID}
		md := sb.Metadata()
		if inc("network") {
			pm.Metrics = l.podNetMetrics(sb, []string{sb.ID, "", md.GetNamespace(), md.GetName(), "POD"})
		}
		for _, c := range byPod[sb.ID] {
			base := []string{c.ID, c.ImageName, md.GetNamespace(), md.GetName(), c.Metadata().GetName()}
			if cm := l.containerMetrics(c, base, fs, now); cm != nil {
				pm.ContainerMetrics = append(pm.ContainerMetrics, cm)
			}
		}
		out = append(out, pm)
	}
	return out
}

// graphRootFs measures the filesystem of the storage graph root once per
// listing (nil when the disk group is off or statfs fails).
func (l Lister) graphRootFs() *stats.FsInfo {
	if !l.Included("disk") {
		return nil
	}
	fi, err := stats.Filesystem(l.GraphRoot)
	if err != nil {
		l.Log.Debug("graph root filesystem", "error", err)
		return nil
	}
	return &fi
}

// podNetMetrics reports the interfaces of the pod's network namespace
// that cAdvisor reports (not lo, veth*, docker*, nerdctl*): the kubelet
// serves these as /metrics/cadvisor, and its consumers (and node e2e)
// expect cAdvisor's series. A hostNetwork pod's are the node's.
func (l Lister) podNetMetrics(sb *sandbox.Sandbox, base []string) []*runtimeapi.Metric {
	var devs []stats.NetDev
	at := time.Now()
	if sb.Namespace(sandbox.NetNS) != "" {
		ps := l.Collector.Pod(cristats.PodRef(sb))
		devs, at = ps.Net, ps.NetTime
	} else if b, err := os.ReadFile("/proc/thread-self/net/dev"); err == nil {
		// thread-self: /proc/self/net is the main thread's namespace, which
		// is a pod's while stats.ReadNetNS happens to run on that thread.
		devs, _ = stats.ParseNetDev(b)
	}
	var out []*runtimeapi.Metric
	for _, d := range devs {
		if cadvisorIgnores(d.Name) {
			continue
		}
		for _, m := range netMetrics {
			out = append(out, metric(m.name, at.UnixNano(), counter, append(slices.Clip(base), d.Name), m.value(d)))
		}
	}
	return out
}

func (l Lister) containerMetrics(c *container.Container, base []string, fs *stats.FsInfo, now time.Time) *runtimeapi.ContainerMetrics {
	if c.Status().Exited {
		return nil
	}
	ref, ok := cristats.ContainerRef(c)
	if !ok {
		return nil
	}
	st := l.Collector.Container(ref)
	in := &metricInput{c: c, s: st.Cgroup, disk: st.Disk, fs: fs, now: now}
	cm := &runtimeapi.ContainerMetrics{ContainerId: c.ID}
	for _, m := range containerMetrics {
		if !l.Included(m.group) {
			continue
		}
		for _, sr := range m.values(in) {
			cm.Metrics = append(cm.Metrics, metric(m.name, sr.at.UnixNano(), m.typ, append(slices.Clip(base), sr.labels...), sr.v))
		}
	}
	return cm
}

func metric(name string, at int64, typ runtimeapi.MetricType, labels []string, v uint64) *runtimeapi.Metric {
	return &runtimeapi.Metric{Name: name, Timestamp: at, MetricType: typ, LabelValues: labels, Value: cristats.U64(v)}
}

// cadvisorIgnores says whether cAdvisor leaves interface name out of a
// container's network stats (its ignoredDevicePrefixes).
func cadvisorIgnores(name string) bool {
	name = strings.ToLower(name)
	for _, p := range []string{"lo", "veth", "docker", "nerdctl"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
