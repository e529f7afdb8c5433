package stats

// Extended holds the cAdvisor-style counters beyond what the CRI stats
// calls need; ListPodSandboxMetrics reports them. Limits of 0 mean
// unlimited or unknown.
type Extended struct {
	// CFS bandwidth control (cpu.stat).
	CPUPeriods          uint64
	CPUThrottledPeriods uint64
	CPUThrottledNs      uint64
	// The cgroup's configured CPU period (µs) and shares (v2 weight
	// converted back to shares).
	CPUPeriodUs uint64
	CPUShares   uint64

	// Page faults of this cgroup alone; Sample.PageFaults counts the
	// hierarchy (they differ on v1 only).
	LocalPageFaults      uint64
	LocalMajorPageFaults uint64
	MemFailcnt           uint64 // times the limit was hit (v2: memory.events max)
	MemKernel            uint64
	MemMappedFile        uint64
	MemMaxUsage          uint64
	MemSwapLimit         uint64 // memory+swap, as v1 memsw and cAdvisor report it
	OOMKills             uint64
	// memory.events high and max (v2); 0 on v1, as cAdvisor reports them.
	MemEventsHigh, MemEventsMax uint64

	Threads    uint64 // pids.current, else the sum over the processes
	ThreadsMax uint64

	// Filled for containers only (a walk of /proc).
	FileDescriptors uint64
	Sockets         uint64
	// OpenFilesSoft is the soft RLIMIT_NOFILE of the cgroup's first
	// process (0 when unlimited or unknown), CRI-O's container_ulimits_soft.
	OpenFilesSoft uint64

	IO []DeviceIO

	HugeTLB  []HugeTLBUsage
	Pressure *Pressure // nil without PSI (a v1 host without a unified mount)
}
