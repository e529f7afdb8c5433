package metrics

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sizeClass names the size class of a layer as CRI-O labels it: the
// largest of its thresholds the size exceeds.
func sizeClass(size int64) string {
	classes := []struct {
		min   float64
		label string
	}{
		{10e9, ">10 GiB"}, {1e9, ">1 GiB"}, {500e6, ">500 MiB"}, {400e6, ">400 MiB"}, {300e6, ">300 MiB"},
		{200e6, ">200 MiB"}, {100e6, ">100 MiB"}, {50e6, ">50 MiB"}, {10e6, ">10 MiB"}, {1e6, ">1 MiB"}, {1e3, ">1 KiB"},
	}
	for _, c := range classes {
		if float64(size) > c.min {
			return c.label
		}
	}
	return ">0 B"
}

// PullBytes counts bytes read for one blob of a pull; done marks the end
// of the blob, whose size then goes into the layer-size histogram.
func (m *Metrics) PullBytes(mediaType string, blobSize int64, bytes uint64, done bool) {
	if bytes > 0 {
		m.pullBytes.WithLabelValues(mediaType, sizeClass(blobSize)).Add(float64(bytes))
	}
	if done {
		m.pullLayerSize.Observe(float64(blobSize))
	}
}

// PullSkipped counts a blob a pull did not transfer because the store
// had it; name is image@digest.
func (m *Metrics) PullSkipped(name string, blobSize int64) {
	m.layerReuse.WithLabelValues(name).Inc()
	if blobSize > 0 {
		m.pullSkipped.WithLabelValues(sizeClass(blobSize)).Add(float64(blobSize))
	}
}

// ImagePull records the outcome of a PullImage: success, or a failure in
// category (CRI-O's: a registry error code such as MANIFEST_UNKNOWN,
// CONNECTION_REFUSED, ..., else UNKNOWN).
func (m *Metrics) ImagePull(err error, category string) {
	if err == nil {
		m.pullSuccess.Inc()
		return
	}
	if category == "" {
		category = "UNKNOWN"
	}
	m.pullFailure.WithLabelValues(category).Inc()
}

// ContainerStarted counts a started container.
func (m *Metrics) ContainerStarted() { m.started.Inc() }

// ContainerExited counts an exit, and an OOM kill by container name.
func (m *Metrics) ContainerExited(name string, oomKilled bool) {
	m.exited.Inc()
	if oomKilled {
		m.oom.Inc()
		m.oomByName.WithLabelValues(name).Inc()
	}
}

// ContainerRemoved drops the OOM series of a removed OOM-killed container,
// as CRI-O does, so the name label does not grow without bound.
func (m *Metrics) ContainerRemoved(name string, oomKilled bool) {
	if oomKilled {
		m.oomByName.DeleteLabelValues(name)
	}
}

// MonitorStopped counts a container whose monitor died while it ran.
func (m *Metrics) MonitorStopped(name string) { m.monitorStopped.WithLabelValues(name).Inc() }

// Stalled counts a create request that found the same pod or container
// still being created, at stage.
func (m *Metrics) Stalled(stage string) { m.stalled.WithLabelValues(stage).Inc() }

// Stage records the latency of a pod or container start-up stage
// ("namespaces", "cni_add", "spec", "monitor_start", "runtime_create").
// The pod network's set-up also goes into operations_latency_seconds as
// "network_setup_pod", as in CRI-O.
func (m *Metrics) Stage(stage string, d time.Duration) {
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
	if stage == "cni_add" {
		m.opsLatency.WithLabelValues("network_setup_pod").Set(d.Seconds())
	}
}

// EventDropped counts an event a subscriber missed.
func (m *Metrics) EventDropped() { m.eventsDropped.Inc() }

// countDefunct counts the zombie processes under procDir, node-wide as
// CRI-O counts them: a zombie whose parent does not reap it is a leak
// somewhere on the node, not necessarily ours.
func countDefunct(procDir string) (int, error) {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) S ...": comm may hold spaces and parentheses.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i+1:], " Z") {
			n++
		}
	}
	return n, nil
}
