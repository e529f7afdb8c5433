package server

import (
	"context"
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
		if !sb.Ready {
			continue
		}
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: sb.ID}
		if inc("network") && sb.Namespaces[sandbox.NetNS] != "" {
			ps := o.collector.Pod(podRef(sb))
			labels := []string{sb.ID, sb.Metadata().GetName(), ""}
			for _, d := range ps.Net {
				if d.Name == "lo" {
					continue
				}
				for _, m := range netMetrics {
					pm.Metrics = append(pm.Metrics, metric(m.name, ps.NetTime.UnixNano(), counter, append(labels[:3:3], d.Name), m.value(d)))
				}
			}
		}
		for _, c := range byPod[sb.ID] {
			if cm := containerMetricsOf(o, c, inc, fs, now); cm != nil {
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

func containerMetricsOf(o *observability, c *container.Container, inc func(string) bool, fs *stats.FsInfo, now time.Time) *runtimeapi.ContainerMetrics {
	if c.Status().Exited {
		return nil
	}
	ref, ok := containerRef(c)
	if !ok {
		return nil
	}
	st := o.collector.Container(ref)
	in := &metricInput{c: c, s: st.Cgroup, disk: st.Disk, fs: fs, now: now}
	labels := []string{c.ID, c.Metadata().GetName(), c.ImageName}
	cm := &runtimeapi.ContainerMetrics{ContainerId: c.ID}
	for _, m := range containerMetrics {
		if !inc(m.group) {
			continue
		}
		for _, sr := range m.values(in) {
			cm.Metrics = append(cm.Metrics, metric(m.name, sr.at.UnixNano(), m.typ, append(labels[:3:3], sr.labels...), sr.v))
		}
	}
	return cm
}

func metric(name string, at int64, typ runtimeapi.MetricType, labels []string, v uint64) *runtimeapi.Metric {
	return &runtimeapi.Metric{Name: name, Timestamp: at, MetricType: typ, LabelValues: labels, Value: u64(v)}
}
