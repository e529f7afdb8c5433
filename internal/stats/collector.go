package stats

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/crio-runtime/crio/internal/cgroups"
)

// ContainerRef names a container whose cgroup may be sampled.
type ContainerRef struct {
	ID          string
	CgroupsPath string // the OCI spec's linux.cgroupsPath
}

// PodRef names a pod: its own cgroup (may be empty) and network namespace.
type PodRef struct {
	ID           string
	CgroupParent string
	NetNS        string
}

// Source lists what the background collection samples.
type Source interface {
	Containers() []ContainerRef
	Pods() []PodRef
}

// DiskUsage is the writable layer's usage at Time.
type DiskUsage struct {
	Time          time.Time
	Bytes, Inodes uint64
}

// DiskFunc measures a container's writable layer (a tree walk on most
// drivers: the collector caches it and refreshes it off the request path).
type DiskFunc func(containerID string) (DiskUsage, error)

// ContainerStats is what the collector knows about one container.
type ContainerStats struct {
	Cgroup       *Sample // nil when the cgroup does not exist
	NanoCores    uint64
	HasNanoCores bool
	Disk         *DiskUsage
}

// PodStats is what the collector knows about one pod. Cgroup is nil when
// the pod has no cgroup of its own; callers then add up the containers.
type PodStats struct {
	Cgroup       *Sample
	NanoCores    uint64
	HasNanoCores bool
	Net          []NetDev
	NetTime      time.Time
}

// Options configure a Collector.
type Options struct {
	Layout       cgroups.Layout
	CgroupDriver string
	// Period between background collections; 0 samples on demand.
	Period time.Duration
	// MinAge: an on-demand sample younger than this is reused (default 1s),
	// so bursts of list calls read each cgroup once.
	MinAge time.Duration
	// DiskTTL is how old a writable-layer measurement may get (default 30s).
	DiskTTL time.Duration
	Disk    DiskFunc
	Source  Source
	Log     *slog.Logger
}

type pair struct{ prev, cur *Sample }

type podEntry struct {
	pair
	net     []NetDev
	netTime time.Time
}

// Collector keeps the latest two samples of every container and pod.
type Collector struct {
	opts Options

	mu    sync.Mutex
	ctrs  map[string]*pair
	pods  map[string]*podEntry
	disks map[string]DiskUsage

	diskMu      sync.Mutex
	diskPending map[string]bool
	diskQueue   chan string
}

// NewCollector returns a collector; Run starts its background work.
func NewCollector(opts Options) *Collector {
	if opts.MinAge <= 0 {
		opts.MinAge = time.Second
	}
	if opts.DiskTTL <= 0 {
		opts.DiskTTL = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Collector{
		opts: opts, ctrs: map[string]*pair{}, pods: map[string]*podEntry{}, disks: map[string]DiskUsage{},
		diskPending: map[string]bool{}, diskQueue: make(chan string, 1024),
	}
}

// Period is the background collection period (0: on demand).
func (c *Collector) Period() time.Duration { return c.opts.Period }

// Run collects every Period (when set), measures writable layers in the
// background and forgets objects the source no longer lists, until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	go c.diskWorker(ctx)
	tick := c.opts.Period
	if tick <= 0 {
		tick = time.Minute // only pruning and disk refresh to do
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	if c.opts.Period > 0 {
		c.CollectAll()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.opts.Period > 0 {
				c.CollectAll()
			} else {
				c.prune(c.opts.Source.Containers(), c.opts.Source.Pods())
			}
		}
	}
}

// CollectAll samples every listed container and pod now.
func (c *Collector) CollectAll() {
	ctrs, pods := c.opts.Source.Containers(), c.opts.Source.Pods()
	for _, r := range ctrs {
		c.sampleContainer(r)
		c.queueDisk(r.ID, false)
	}
	for _, p := range pods {
		c.samplePod(p)
	}
	c.prune(ctrs, pods)
}

func (c *Collector) prune(ctrs []ContainerRef, pods []PodRef) {
	live := make(map[string]bool, len(ctrs)+len(pods))
	for _, r := range ctrs {
		live[r.ID] = true
	}
	for _, p := range pods {
		live[p.ID] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.ctrs {
		if !live[id] {
			delete(c.ctrs, id)
		}
	}
	for id := range c.disks {
		if !live[id] {
			delete(c.disks, id)
		}
	}
	for id := range c.pods {
		if !live[id] {
			delete(c.pods, id)
		}
	}
}

// maxAge is how old a cached sample may be before a request resamples.
func (c *Collector) maxAge() time.Duration {
	if c.opts.Period > 0 {
		return 2 * c.opts.Period
	}
	return c.opts.MinAge
}

// Container returns the container's latest stats, sampling now when the
// cached sample is missing or too old. A ref without a cgroups path (an
// exited container) gets its writable layer only.
func (c *Collector) Container(r ContainerRef) ContainerStats {
	c.mu.Lock()
	p := c.ctrs[r.ID]
	fresh := p != nil && p.cur != nil && time.Since(p.cur.Time) < c.maxAge()
	if r.CgroupsPath == "" {
		delete(c.ctrs, r.ID) // no cgroup (exited): writable layer only
		fresh = true
	}
	c.mu.Unlock()
	if !fresh {
		c.sampleContainer(r)
	}
	c.mu.Lock()
	var out ContainerStats
	if p := c.ctrs[r.ID]; p != nil && p.cur != nil {
		out.Cgroup = p.cur
		out.NanoCores, out.HasNanoCores = NanoCores(p.prev, p.cur)
	}
	d, ok := c.disks[r.ID]
	c.mu.Unlock()
	if !ok {
		// First sight: measure once inline so the answer is complete.
		c.measureDisk(r.ID)
		c.mu.Lock()
		d, ok = c.disks[r.ID]
		c.mu.Unlock()
	} else if time.Since(d.Time) > c.opts.DiskTTL {
		c.queueDisk(r.ID, true)
	}
	if ok {
		out.Disk = &d
	}
	return out
}

func (c *Collector) sampleContainer(r ContainerRef) {
	s, err := c.readContainer(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.ctrs, r.ID)
		if !errors.Is(err, fs.ErrNotExist) {
			c.opts.Log.Debug("container stats", "container", r.ID, "error", err)
		}
		return
	}
	p := c.ctrs[r.ID]
	if p == nil {
		p = &pair{}
		c.ctrs[r.ID] = p
	}
	p.prev, p.cur = p.cur, s
}

func (c *Collector) readContainer(r ContainerRef) (*Sample, error) {
	rel, err := cgroups.ContainerCgroup(r.CgroupsPath)
	if err != nil {
		return nil, err
	}
	s, err := Read(c.opts.Layout, rel)
	if err != nil {
		return nil, err
	}
	addProcesses(c.opts.Layout, s, rel, "/proc")
	return s, nil
}

// Pod returns the pod's latest cgroup and network stats.
func (c *Collector) Pod(r PodRef) PodStats {
	c.mu.Lock()
	e := c.pods[r.ID]
	fresh := e != nil && time.Since(e.netTime) < c.maxAge()
	c.mu.Unlock()
	if !fresh {
		c.samplePod(r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out PodStats
	if e := c.pods[r.ID]; e != nil {
		out.Cgroup = e.cur
		out.NanoCores, out.HasNanoCores = NanoCores(e.prev, e.cur)
		out.Net, out.NetTime = e.net, e.netTime
	}
	return out
}

func (c *Collector) samplePod(r PodRef) {
	var s *Sample
	if rel, err := cgroups.PodCgroup(r.CgroupParent, c.opts.CgroupDriver); err == nil && rel != "" {
		s, _ = Read(c.opts.Layout, rel) // the pod cgroup appears with its first container
	}
	var devs []NetDev
	if r.NetNS != "" {
		var err error
		if devs, err = ReadNetNS(r.NetNS); err != nil {
			c.opts.Log.Debug("pod network stats", "pod", r.ID, "error", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.pods[r.ID]
	if e == nil {
		e = &podEntry{}
		c.pods[r.ID] = e
	}
	if s != nil {
		e.prev, e.cur = e.cur, s
	} else {
		e.prev, e.cur = nil, nil
	}
	e.net, e.netTime = devs, time.Now()
}

// queueDisk asks the disk worker to measure id; force skips the age check.
func (c *Collector) queueDisk(id string, force bool) {
	if c.opts.Disk == nil {
		return
	}
	if !force {
		c.mu.Lock()
		d, ok := c.disks[id]
		c.mu.Unlock()
		if ok && time.Since(d.Time) < c.opts.DiskTTL {
			return
		}
	}
	c.diskMu.Lock()
	defer c.diskMu.Unlock()
	if c.diskPending[id] {
		return
	}
	select {
	case c.diskQueue <- id:
		c.diskPending[id] = true
	default: // full: the next request or round asks again
	}
}

func (c *Collector) diskWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-c.diskQueue:
			c.measureDisk(id)
			c.diskMu.Lock()
			delete(c.diskPending, id)
			c.diskMu.Unlock()
		}
	}
}

func (c *Collector) measureDisk(id string) {
	if c.opts.Disk == nil {
		return
	}
	d, err := c.opts.Disk(id)
	if err != nil {
		c.opts.Log.Debug("writable layer usage", "container", id, "error", err)
		return
	}
	if d.Time.IsZero() {
		d.Time = time.Now()
	}
	c.mu.Lock()
	c.disks[id] = d
	c.mu.Unlock()
}
