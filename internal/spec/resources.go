package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// OOM score bounds of the kernel.
const (
	minOOMScoreAdj = -1000
	maxOOMScoreAdj = 1000
)

// PingGroupRangeSysctl lets every group use ICMP echo sockets, so ping works
// without CAP_NET_RAW. Add it to default_sysctls to enable.
const PingGroupRangeSysctl = "net.ipv4.ping_group_range=0 2147483647"

var (
	hugepageSize = regexp.MustCompile(`^[1-9][0-9]*[KMG]B$`)
	cpusetList   = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)
)

// resources converts LinuxContainerResources and oom_score_adj.
func (b *builder) resources() error {
	r := b.in.Config.GetLinux().GetResources()
	if pl := b.in.Runtime.PidsLimit; pl > 0 {
		b.g.SetLinuxResourcesPidsLimit(pl)
	}
	if r == nil {
		return nil
	}
	neg := func(v int64, name string) error {
		if v < 0 {
			return invalid(resField+name, "%d is negative", v)
		}
		return nil
	}
	for _, c := range []struct {
		v    int64
		name string
	}{{r.CpuShares, "cpu_shares"}, {r.CpuPeriod, "cpu_period"}, {r.MemoryLimitInBytes, "memory_limit_in_bytes"}} {
		if err := neg(c.v, c.name); err != nil {
			return err
		}
	}
	if r.CpuShares > 0 {
		b.g.SetLinuxResourcesCPUShares(uint64(r.CpuShares))
	}
	if r.CpuQuota < -1 || (r.CpuQuota > 0 && r.CpuQuota < 1000) {
		return invalid(resField+"cpu_quota", "%d is not -1 or at least 1000", r.CpuQuota)
	}
	if r.CpuQuota != 0 {
		b.g.SetLinuxResourcesCPUQuota(r.CpuQuota)
	}
	if r.CpuPeriod != 0 {
		if r.CpuPeriod < 1000 || r.CpuPeriod > 1000000 {
			return invalid(resField+"cpu_period", "%d is outside 1000..1000000", r.CpuPeriod)
		}
		b.g.SetLinuxResourcesCPUPeriod(uint64(r.CpuPeriod))
	}
	for _, c := range []struct{ v, name string }{{r.CpusetCpus, "cpuset_cpus"}, {r.CpusetMems, "cpuset_mems"}} {
		if c.v != "" && !cpusetList.MatchString(c.v) {
			return invalid(resField+c.name, "%q is not a CPU/node list", c.v)
		}
	}
	if r.CpusetCpus != "" {
		b.g.SetLinuxResourcesCPUCpus(r.CpusetCpus)
	}
	if r.CpusetMems != "" {
		b.g.SetLinuxResourcesCPUMems(r.CpusetMems)
	}
	if err := b.memory(r.MemoryLimitInBytes, r.MemorySwapLimitInBytes); err != nil {
		return err
	}
	for i, h := range r.HugepageLimits {
		if !hugepageSize.MatchString(h.GetPageSize()) {
			return invalid(fmt.Sprintf("%shugepage_limits[%d].page_size", resField, i), "%q is not a page size like 2MB", h.GetPageSize())
		}
		b.g.AddLinuxResourcesHugepageLimit(h.GetPageSize(), h.GetLimit())
	}
	// On cgroup v1 the caller maps unified keys with FitResources.
	if len(r.Unified) > 0 {
		b.g.Config.Linux.Resources.Unified = map[string]string{}
		for k, v := range r.Unified {
			if k == "" || strings.ContainsAny(k, "/\x00") || !strings.Contains(k, ".") {
				return invalid(resField+"unified", "%q is not a cgroup v2 file name", k)
			}
			b.g.Config.Linux.Resources.Unified[k] = v
		}
	}
	return b.oomScoreAdj(r.OomScoreAdj)
}

func (b *builder) memory(limit, swap int64) error {
	if limit > 0 {
		b.g.SetLinuxResourcesMemoryLimit(limit)
	}
	switch {
	case swap == 0:
	case swap < -1:
		return invalid(resField+"memory_swap_limit_in_bytes", "%d is negative", swap)
	case swap > 0 && limit > 0 && swap < limit:
		return invalid(resField+"memory_swap_limit_in_bytes", "%d is below the memory limit %d", swap, limit)
	default:
		b.g.SetLinuxResourcesMemorySwap(swap)
	}
	return nil
}

// oomScoreAdj clamps to what this host lets the runtime set.
func (b *builder) oomScoreAdj(v int64) error {
	if v < minOOMScoreAdj || v > maxOOMScoreAdj {
		return invalid(resField+"oom_score_adj", "%d is outside -1000..1000", v)
	}
	adj := int(v)
	if lo := b.in.Runtime.MinOOMScoreAdj; adj < lo {
		b.warn(fmt.Sprintf("oom_score_adj %d raised to %d, the lowest this host allows", adj, lo))
		adj = lo
	}
	b.g.SetProcessOOMScoreAdj(adj)
	return nil
}

// sysctls applies default_sysctls and then the pod's sysctls. Only
// namespaced sysctls of namespaces the pod owns are accepted; a default
// that does not fit (host network) is skipped with a warning.
func (b *builder) sysctls() error {
	set := map[string]string{}
	for i, kv := range b.in.Runtime.DefaultSysctls {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return invalid(fmt.Sprintf("default_sysctls[%d]", i), "%q is not key=value", kv)
		}
		if err := b.sysctlAllowed(k); err != nil {
			if _, isPre := err.(*FailedPreconditionError); isPre {
				b.warn(fmt.Sprintf("default sysctl %s skipped: %v", k, err))
				continue
			}
			return invalid(fmt.Sprintf("default_sysctls[%d]", i), "%v", err)
		}
		set[k] = v
	}
	pod := b.in.SandboxConfig.GetLinux().GetSysctls()
	keys := make([]string, 0, len(pod))
	for k := range pod {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := b.sysctlAllowed(k); err != nil {
			return invalid("linux.sysctls["+k+"]", "%v", err)
		}
		set[k] = pod[k]
	}
	for k, v := range set {
		b.g.AddLinuxSysctl(k, v)
	}
	return nil
}

var ipcSysctlPrefixes = []string{"kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."}

// sysctlAllowed accepts namespaced sysctls; a precondition error means the
// namespace is the host's.
func (b *builder) sysctlAllowed(key string) error {
	k := key
	if strings.Contains(k, "/") && !strings.Contains(strings.SplitN(k, "/", 2)[0], ".") {
		k = strings.ReplaceAll(k, "/", ".")
	}
	sb := b.in.Sandbox
	switch {
	case strings.HasPrefix(k, "net."):
		if sb.NetNSPath == "" {
			return precondition("sysctl "+key, "not allowed with the host network")
		}
		return nil
	case k == "kernel.hostname" || k == "kernel.domainname":
		if sb.UTSNSPath == "" {
			return precondition("sysctl "+key, "not allowed with the host UTS namespace")
		}
		return nil
	}
	for _, p := range ipcSysctlPrefixes {
		if strings.HasPrefix(k, p) {
			if sb.IPCNSPath == "" {
				return precondition("sysctl "+key, "not allowed with the host IPC namespace")
			}
			return nil
		}
	}
	return fmt.Errorf("sysctl %q is not namespaced", key)
}
