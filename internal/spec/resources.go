package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
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

// unifiedControllers are the cgroup v2 controllers whose files a unified
// key may name; "cgroup.*" files (procs, subtree_control, ...) are not
// resources and are refused.
var unifiedControllers = map[string]bool{
	"cpu": true, "cpuset": true, "io": true, "memory": true, "hugetlb": true, "pids": true, "rdma": true, "misc": true,
}

var unifiedFile = regexp.MustCompile(`^[a-z]+(\.[A-Za-z0-9_]+)+$`)

// ValidateResources checks LinuxContainerResources as CreateContainer,
// UpdateContainerResources and the pod resources share them: field is the
// prefix of the names in errors (e.g. "linux.resources."). Pure: whether
// the host has cgroup v2 is checked where the values are applied.
func ValidateResources(r *runtimeapi.LinuxContainerResources, field string) error {
	if r == nil {
		return nil
	}
	for _, c := range []struct {
		v    int64
		name string
	}{{r.CpuShares, "cpu_shares"}, {r.CpuPeriod, "cpu_period"}, {r.MemoryLimitInBytes, "memory_limit_in_bytes"}} {
		if c.v < 0 {
			return invalid(field+c.name, "%d is negative", c.v)
		}
	}
	if r.CpuQuota < -1 || (r.CpuQuota > 0 && r.CpuQuota < 1000) {
		return invalid(field+"cpu_quota", "%d is not -1 or at least 1000", r.CpuQuota)
	}
	if r.CpuPeriod != 0 && (r.CpuPeriod < 1000 || r.CpuPeriod > 1000000) {
		return invalid(field+"cpu_period", "%d is outside 1000..1000000", r.CpuPeriod)
	}
	for _, c := range []struct{ v, name string }{{r.CpusetCpus, "cpuset_cpus"}, {r.CpusetMems, "cpuset_mems"}} {
		if c.v != "" && !cpusetList.MatchString(c.v) {
			return invalid(field+c.name, "%q is not a CPU/node list", c.v)
		}
	}
	swap, limit := r.MemorySwapLimitInBytes, r.MemoryLimitInBytes
	switch {
	case swap < -1:
		return invalid(field+"memory_swap_limit_in_bytes", "%d is negative", swap)
	case swap > 0 && limit > 0 && swap < limit:
		return invalid(field+"memory_swap_limit_in_bytes", "%d is below the memory limit %d", swap, limit)
	}
	for i, h := range r.HugepageLimits {
		if !hugepageSize.MatchString(h.GetPageSize()) {
			return invalid(fmt.Sprintf("%shugepage_limits[%d].page_size", field, i), "%q is not a page size like 2MB", h.GetPageSize())
		}
	}
	for k, v := range r.Unified {
		ctrl, _, _ := strings.Cut(k, ".")
		if !unifiedFile.MatchString(k) || !unifiedControllers[ctrl] {
			return invalid(field+"unified", "%q is not a file of a cgroup v2 controller", k)
		}
		if strings.ContainsAny(v, "\n\x00") {
			return invalid(field+"unified["+k+"]", "the value must be one line")
		}
	}
	if r.OomScoreAdj < minOOMScoreAdj || r.OomScoreAdj > maxOOMScoreAdj {
		return invalid(field+"oom_score_adj", "%d is outside -1000..1000", r.OomScoreAdj)
	}
	return nil
}

// resources converts LinuxContainerResources and oom_score_adj.
func (b *builder) resources() error {
	r := b.in.Config.GetLinux().GetResources()
	if pl := b.in.Runtime.PidsLimit; pl > 0 {
		b.g.SetLinuxResourcesPidsLimit(pl)
	}
	if r == nil {
		return nil
	}
	if err := ValidateResources(r, resField); err != nil {
		return err
	}
	if r.CpuShares > 0 {
		b.g.SetLinuxResourcesCPUShares(uint64(r.CpuShares))
	}
	if r.CpuQuota != 0 {
		b.g.SetLinuxResourcesCPUQuota(r.CpuQuota)
	}
	if r.CpuPeriod != 0 {
		b.g.SetLinuxResourcesCPUPeriod(uint64(r.CpuPeriod))
	}
	if r.CpusetCpus != "" {
		b.g.SetLinuxResourcesCPUCpus(r.CpusetCpus)
	}
	if r.CpusetMems != "" {
		b.g.SetLinuxResourcesCPUMems(r.CpusetMems)
	}
	if r.MemoryLimitInBytes > 0 {
		b.g.SetLinuxResourcesMemoryLimit(r.MemoryLimitInBytes)
	}
	if r.MemorySwapLimitInBytes != 0 {
		b.g.SetLinuxResourcesMemorySwap(r.MemorySwapLimitInBytes)
	}
	for _, h := range r.HugepageLimits {
		b.g.AddLinuxResourcesHugepageLimit(h.GetPageSize(), h.GetLimit())
	}
	// On cgroup v1 the caller maps unified keys with FitResources.
	if len(r.Unified) > 0 {
		b.g.Config.Linux.Resources.Unified = map[string]string{}
		for k, v := range r.Unified {
			b.g.Config.Linux.Resources.Unified[k] = v
		}
	}
	return b.oomScoreAdj(r.OomScoreAdj)
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
// namespaced sysctls are accepted; one of a namespace the pod shares with
// the host (host network or IPC) is skipped with a warning, as CRI-O does.
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
			if _, isPre := err.(*FailedPreconditionError); isPre {
				// A host namespace: CRI-O skips it rather than failing.
				b.warn(fmt.Sprintf("pod sysctl %s skipped: %v", k, err))
				continue
			}
			return invalid("linux.sysctls["+k+"]", "%v", err)
		}
		if strings.Contains(SysctlDotted(k), "/") {
			// A dot inside a component (eth0.100): the runtime cannot
			// name it, and the pod's namespace already has it set.
			b.warn(fmt.Sprintf("sysctl %s is set on the pod only", k))
			continue
		}
		set[k] = pod[k]
	}
	for k, v := range set {
		b.g.AddLinuxSysctl(k, v)
	}
	return nil
}

// SysctlDotted returns a sysctl name in dotted form. Kubernetes accepts
// both "net.ipv4.conf.eth0/100.forwarding" and
// "net/ipv4/conf/eth0.100/forwarding": when the first separator is '/',
// the two characters swap roles, and in the dotted form a '/' stands for a
// '.' inside one component (an interface name).
func SysctlDotted(name string) string {
	if i := strings.IndexAny(name, "./"); i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/':
			return '.'
		case '.':
			return '/'
		}
		return r
	}, name)
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
