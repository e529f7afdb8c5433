// Package podmetrics holds the cAdvisor-style metrics the kubelet takes
// from the runtime (ListMetricDescriptors, ListPodSandboxMetrics): the
// table of metrics, their labels and groups, and the listing built from
// the collector's samples.
package podmetrics

import (
	"os"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/stats"
)

// Labels follow CRI-O: the runtime's id and image, the pod's namespace
// and name and the container's name (POD for pod-level series), then the
// metric's own labels (interface, device, ...). Every series of one name
// carries the same label keys, the ones its descriptor lists.
var baseLabels = []string{"id", "image", "namespace", "pod", "container"}

func withBase(extra ...string) []string { return append(slices.Clip(baseLabels), extra...) }

var (
	netLabels     = withBase("interface")
	deviceLabels  = []string{"device"}
	blkioLabels   = []string{"device", "major", "minor", "operation"}
	failureLabels = []string{"failure_type", "scope"}
)

const (
	counter = runtimeapi.MetricType_COUNTER
	gauge   = runtimeapi.MetricType_GAUGE
)

// metricInput is what one container's series are computed from.
type metricInput struct {
	c    *container.Container
	s    *stats.Sample    // nil when the cgroup could not be read
	disk *stats.DiskUsage // nil before the first measurement
	fs   *stats.FsInfo    // the graph root's filesystem; nil if statfs failed
	now  time.Time
}

// series is one value of a metric: its own label values (after the base
// ones) and when it was measured.
type series struct {
	at     time.Time
	labels []string
	v      uint64
}

// containerMetric is one metric name reported per container; group is
// its included_pod_metrics group ("" is always included).
type containerMetric struct {
	group, name, help string
	typ               runtimeapi.MetricType
	labels            []string // label keys after baseLabels
	values            func(*metricInput) []series
}

type netMetric struct {
	name, help string
	value      func(stats.NetDev) uint64
}

func seconds(ns uint64) uint64 { return ns / uint64(time.Second) }

// cg is a metric with one value read from the container's cgroup sample.
func cg(group, name, help string, typ runtimeapi.MetricType, v func(*stats.Sample) uint64) containerMetric {
	return containerMetric{group: group, name: name, help: help, typ: typ, values: func(in *metricInput) []series {
		if in.s == nil {
			return nil
		}
		return []series{{at: in.s.Time, v: v(in.s)}}
	}}
}

// spec is a metric of the container's configured resources (its OCI
// resources, kept current by UpdateContainerResources), as CRI-O reports
// them; ok false leaves the series out.
func spec(name, help string, v func(*specs.LinuxResources) (uint64, bool)) containerMetric {
	return containerMetric{group: "spec", name: name, help: help, typ: gauge, values: func(in *metricInput) []series {
		r := in.c.Status().Resources
		if r == nil {
			r = &specs.LinuxResources{}
		}
		val, ok := v(r)
		if !ok {
			return nil
		}
		return []series{{at: in.now, v: val}}
	}}
}

// specBytes is a configured memory amount, 0 meaning unlimited: negative
// or above 2^62 (what the kernel rounds "max" to) is unlimited, as in
// cAdvisor and CRI-O.
func specBytes(p *int64) uint64 {
	if p == nil || *p < 0 || uint64(*p) > 1<<62 {
		return 0
	}
	return uint64(*p) &^ (pageSize - 1)
}

// pageSize: the kernel keeps memory limits in whole pages (rounding down),
// and cAdvisor reports the cgroup's value, so a limit is reported as the
// kernel enforces it.
var pageSize = uint64(os.Getpagesize())

// Descriptors describes every metric List reports. included tells whether
// a group (cpu, memory, network, process, disk, diskIO, oom, spec, ...) is
// in included_pod_metrics, as CRI-O reads it: "all" alone is every group,
// an empty list only the always-on one (""), which holds
// container_last_seen.
func Descriptors(included func(group string) bool) []*runtimeapi.MetricDescriptor {
	var out []*runtimeapi.MetricDescriptor
	for _, m := range containerMetrics {
		if included(m.group) {
			out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: withBase(m.labels...)})
		}
	}
	if included("network") {
		for _, m := range netMetrics {
			out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: netLabels})
		}
	}
	return out
}
