package observability

import (
	"time"

	"github.com/crio-runtime/crio/internal/cristats"
	"github.com/crio-runtime/crio/internal/stats"
)

// statsSource lists what the background collection samples.
type statsSource struct{ opts Options }

func (a statsSource) Containers() []stats.ContainerRef {
	var out []stats.ContainerRef
	for _, c := range a.opts.Containers.Snapshot() {
		if c.Status().Exited {
			continue
		}
		if r, ok := cristats.ContainerRef(c); ok {
			out = append(out, r)
		}
	}
	return out
}

func (a statsSource) Pods() []stats.PodRef {
	var out []stats.PodRef
	for _, sb := range a.opts.Pods.List() {
		if sb.IsReady() {
			out = append(out, cristats.PodRef(sb))
		}
	}
	return out
}

// writableLayerUsage measures a container's read-write layer through the
// storage driver (a walk of its diff dir on most drivers; the collector
// caches the result).
func (o *Observability) writableLayerUsage(id string) (stats.DiskUsage, error) {
	st := o.opts.Images.Store()
	ctr, err := st.Container(id)
	if err != nil {
		return stats.DiskUsage{}, err
	}
	drv, err := st.GraphDriver()
	if err != nil {
		return stats.DiskUsage{}, err
	}
	du, err := drv.ReadWriteDiskUsage(ctr.LayerID)
	if err != nil {
		return stats.DiskUsage{}, err
	}
	return stats.DiskUsage{Time: time.Now(), Bytes: uint64(max(du.Size, 0)), Inodes: uint64(max(du.InodeCount, 0))}, nil
}

// monitorCount is the number of monitors of containers not yet exited.
func (o *Observability) monitorCount() float64 {
	n := 0
	for _, c := range o.opts.Containers.Snapshot() {
		if c.MonitorPid > 0 && !c.Status().Exited {
			n++
		}
	}
	return float64(n)
}
