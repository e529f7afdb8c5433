package server

import (
	"context"
	"slices"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/stats"
)

// The cAdvisor-style metrics the kubelet asks for when it takes pod and
// container metrics from the runtime. Labels follow CRI-O: id, name and
// image of the container (or pod), plus interface for network series.
var (
	baseLabels = []string{"id", "name", "image"}
	netLabels  = []string{"id", "name", "image", "interface"}
)

type cgroupMetric struct {
	group, name, help string
	typ               runtimeapi.MetricType
	value             func(*stats.Sample) uint64
}

type netMetric struct {
	name, help string
	value      func(stats.NetDev) uint64
}

type diskMetric struct {
	name, help string
	value      func(*stats.DiskUsage) uint64
}

const (
	counter = runtimeapi.MetricType_COUNTER
	gauge   = runtimeapi.MetricType_GAUGE
)

func seconds(ns uint64) uint64 { return ns / uint64(time.Second) }

var cgroupMetrics = []cgroupMetric{
	{"cpu", "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUUsageNs) }},
	{"cpu", "container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUUserNs) }},
	{"cpu", "container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", counter, func(s *stats.Sample) uint64 { return seconds(s.CPUSystemNs) }},
	{"memory", "container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", gauge, func(s *stats.Sample) uint64 { return s.MemUsage }},
	{"memory", "container_memory_working_set_bytes", "Current working set in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemWorkingSet }},
	{"memory", "container_memory_rss", "Size of RSS in bytes.", gauge, func(s *stats.Sample) uint64 { return s.MemRSS }},
	{"memory", "container_memory_cache", "Number of bytes of page cache memory.", gauge, func(s *stats.Sample) uint64 { return s.MemCache }},
	{"memory", "container_memory_swap", "Container swap usage in bytes.", gauge, func(s *stats.Sample) uint64 { return s.SwapUsage }},
	{"memory", "container_spec_memory_limit_bytes", "Memory limit for the container.", gauge, func(s *stats.Sample) uint64 { return s.MemLimit }},
	{"memory", "container_memory_page_faults_total", "Cumulative count of page faults.", counter, func(s *stats.Sample) uint64 { return s.PageFaults }},
	{"memory", "container_memory_major_page_faults_total", "Cumulative count of major page faults.", counter, func(s *stats.Sample) uint64 { return s.MajorPageFaults }},
	{"process", "container_processes", "Number of processes running inside the container.", gauge, func(s *stats.Sample) uint64 { return s.Pids }},
}

var netMetrics = []netMetric{
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", func(d stats.NetDev) uint64 { return d.RxBytes }},
	{"container_network_receive_packets_total", "Cumulative count of packets received.", func(d stats.NetDev) uint64 { return d.RxPackets }},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.", func(d stats.NetDev) uint64 { return d.RxDropped }},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.", func(d stats.NetDev) uint64 { return d.RxErrors }},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", func(d stats.NetDev) uint64 { return d.TxBytes }},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", func(d stats.NetDev) uint64 { return d.TxPackets }},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.", func(d stats.NetDev) uint64 { return d.TxDropped }},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.", func(d stats.NetDev) uint64 { return d.TxErrors }},
}

var diskMetrics = []diskMetric{
	{"container_fs_usage_bytes", "Number of bytes consumed by the container's writable layer.", func(d *stats.DiskUsage) uint64 { return d.Bytes }},
	{"container_fs_inodes_total", "Number of inodes used by the container's writable layer.", func(d *stats.DiskUsage) uint64 { return d.Inodes }},
}

// ListMetricDescriptors describes every metric ListPodSandboxMetrics reports.
func (s *Server) ListMetricDescriptors(ctx context.Context, req *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	inc := s.metricGroups()
	var out []*runtimeapi.MetricDescriptor
	for _, m := range cgroupMetrics {
		if inc(m.group) {
			out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: baseLabels})
		}
	}
	if inc("network") {
		for _, m := range netMetrics {
			out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: netLabels})
		}
	}
	if inc("disk") {
		for _, m := range diskMetrics {
			out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: baseLabels})
		}
	}
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: out}, nil
}

// metricGroups reports whether a group (cpu, memory, network, process,
// disk) is in included_pod_metrics; an empty list includes them all.
func (s *Server) metricGroups() func(string) bool {
	inc := s.Config().Crio.Stats.IncludedPodMetrics
	return func(g string) bool { return len(inc) == 0 || slices.Contains(inc, g) }
}
