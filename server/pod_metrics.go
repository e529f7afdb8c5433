package server

import (
	"context"
	"os"
	"slices"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/stats"
)

// ListPodSandboxMetrics reports the described metrics for every ready
// pod: network series for the pod, cgroup and disk series per container.
func (s *Server) ListPodSandboxMetrics(ctx context.Context, req *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: s.listPodMetrics()}, nil
}

// StreamPodSandboxMetrics sends the same metrics as ListPodSandboxMetrics,
// each pod once, in batches, then ends the stream.
func (s *Server) StreamPodSandboxMetrics(req *runtimeapi.StreamPodSandboxMetricsRequest, stream runtimeapi.RuntimeService_StreamPodSandboxMetricsServer) error {
	return sendBatches(s.listPodMetrics(), func(b []*runtimeapi.PodSandboxMetrics) error {
		return stream.Send(&runtimeapi.StreamPodSandboxMetricsResponse{PodSandboxMetrics: b})
	})
}

func (s *Server) listPodMetrics() []*runtimeapi.PodSandboxMetrics {
	o := s.obs()
	inc := s.metricGroups()
	byPod := s.containersByPod()
	fs := s.graphRootFs(inc)
	now := time.Now()
	var out []*runtimeapi.PodSandboxMetrics
	for _, sb := range s.pods.List() {
		if !sb.IsReady() {
			continue
		}
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: sb.ID}
		md := sb.Metadata()
		if inc("network") {
			pm.Metrics = podNetMetrics(o, sb, []string{sb.ID, "", md.GetNamespace(), md.GetName(), "POD"})
		}
		for _, c := range byPod[sb.ID] {
			base := []string{c.ID, c.ImageName, md.GetNamespace(), md.GetName(), c.Metadata().GetName()}
			if cm := containerMetricsOf(o, c, base, inc, fs, now); cm != nil {
				pm.ContainerMetrics = append(pm.ContainerMetrics, cm)
			}
		}
		out = append(out, pm)
	}
	return out
}

// graphRootFs measures the filesystem of the storage graph root once per
// listing (nil when the disk group is off or statfs fails).
func (s *Server) graphRootFs(inc func(string) bool) *stats.FsInfo {
	if !inc("disk") {
		return nil
	}
	fi, err := stats.Filesystem(s.images.Store().GraphRoot())
	if err != nil {
		s.log.Debug("graph root filesystem", "error", err)
		return nil
	}
	return &fi
}

// podNetMetrics reports every interface of the pod's network namespace,
// lo included, as the pod itself lists them in /sys/class/net; a
// hostNetwork pod's interfaces are the node's, as in CRI-O.
func podNetMetrics(o *observability, sb *sandbox.Sandbox, base []string) []*runtimeapi.Metric {
	var devs []stats.NetDev
	at := time.Now()
	if sb.Namespace(sandbox.NetNS) != "" {
		ps := o.collector.Pod(podRef(sb))
		devs, at = ps.Net, ps.NetTime
	} else if b, err := os.ReadFile("/proc/self/net/dev"); err == nil {
		devs, _ = stats.ParseNetDev(b)
	}
	var out []*runtimeapi.Metric
	for _, d := range devs {
		for _, m := range netMetrics {
			out = append(out, metric(m.name, at.UnixNano(), counter, append(slices.Clip(base), d.Name), m.value(d)))
		}
	}
	return out
}

func containerMetricsOf(o *observability, c *container.Container, base []string, inc func(string) bool, fs *stats.FsInfo, now time.Time) *runtimeapi.ContainerMetrics {
	if c.Status().Exited {
		return nil
	}
	ref, ok := containerRef(c)
	if !ok {
		return nil
	}
	st := o.collector.Container(ref)
	in := &metricInput{c: c, s: st.Cgroup, disk: st.Disk, fs: fs, now: now}
	cm := &runtimeapi.ContainerMetrics{ContainerId: c.ID}
	for _, m := range containerMetrics {
		if !inc(m.group) {
			continue
		}
		for _, sr := range m.values(in) {
			cm.Metrics = append(cm.Metrics, metric(m.name, sr.at.UnixNano(), m.typ, append(slices.Clip(base), sr.labels...), sr.v))
		}
	}
	return cm
}

func metric(name string, at int64, typ runtimeapi.MetricType, labels []string, v uint64) *runtimeapi.Metric {
	return &runtimeapi.Metric{Name: name, Timestamp: at, MetricType: typ, LabelValues: labels, Value: u64(v)}
}
