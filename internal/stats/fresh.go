package stats

// ReadNow samples the container's cgroup now, bypassing the cache: for
// decisions that must see the current usage (a memory limit decrease).
func (c *Collector) ReadNow(r ContainerRef) (*Sample, error) { return c.readContainer(r) }
