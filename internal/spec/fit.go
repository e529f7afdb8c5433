package spec

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CgroupSupport is what the host's cgroup hierarchy can enforce, read once
// per daemon start (hostos.Cgroups). Resources outside it are dropped with a
// host warning where Kubernetes treats them as best effort (the kubelet
// sends a hugepage limit for every page size the node has, on every
// container), and refused where ignoring them would break a guarantee.
type CgroupSupport struct {
	// V2 is true on a unified hierarchy (what the runtime will use).
	V2 bool
	// Hugetlb is true when the hugetlb controller is usable.
	Hugetlb bool
	// HugepageSizes are the host's page sizes in CRI form ("2MB", "1GB").
	HugepageSizes []string
	// Swap is true when swap can be limited (v1 memory.memsw, v2 memory.swap.max).
	Swap bool
	// Controllers are the v2 controllers available to containers.
	Controllers []string
	// BlkioWeight is true when block IO weights can be set (v1 blkio.weight
	// needs the CFQ/BFQ scheduler).
	BlkioWeight bool
	// CPURealtime is true when cpu.rt_runtime_us exists (RT group scheduling).
	CPURealtime bool
	// CPUs and Mems are the host's online CPU and memory node lists
	// ("0-3"); empty means unknown (not checked).
	CPUs, Mems string
}

// FitResources makes r fit the host: it drops what the host cannot enforce
// and maps cgroup v2 "unified" keys to their v1 fields on a v1 host. It
// returns host warnings (the same for every container, so callers log each
// once) and an error naming the field for what must not be ignored. A nil
// host means "enforce everything" (tests, or the host could not be read).
func FitResources(r *specs.LinuxResources, host *CgroupSupport) ([]string, error) {
	if r == nil || host == nil {
		return nil, nil
	}
	var warn []string
	if len(r.HugepageLimits) > 0 {
		var keep []specs.LinuxHugepageLimit
		for _, h := range r.HugepageLimits {
			switch {
			case !host.Hugetlb:
				warn = append(warn, fmt.Sprintf("hugepage limits (%s) left out: the hugetlb cgroup controller is not available", h.Pagesize))
			case !slices.Contains(host.HugepageSizes, h.Pagesize):
				warn = append(warn, fmt.Sprintf("hugepage limit for %s left out: the host has no such page size (has %v)", h.Pagesize, host.HugepageSizes))
			default:
				keep = append(keep, h)
			}
		}
		r.HugepageLimits = keep
	}
	if len(r.Unified) > 0 {
		var err error
		if host.V2 {
			warn = append(warn, dropMissingControllers(r, host.Controllers)...)
		} else if warn, err = unifiedToV1(r, warn); err != nil {
			return nil, err
		}
	}
	if m := r.Memory; m != nil && m.Swap != nil && !host.Swap {
		// Kubernetes' swap behaviours are best effort: no swap accounting
		// means the container simply gets no swap limit.
		warn = append(warn, "memory swap limit left out: the host has no swap accounting")
		m.Swap = nil
	}
	if b := r.BlockIO; b != nil && !host.BlkioWeight && (b.Weight != nil || b.LeafWeight != nil || len(b.WeightDevice) > 0) {
		warn = append(warn, "block IO weights left out: the host's IO scheduler has no weights")
		b.Weight, b.LeafWeight, b.WeightDevice = nil, nil, nil
	}
	if c := r.CPU; c != nil {
		if (c.RealtimeRuntime != nil || c.RealtimePeriod != nil) && !host.CPURealtime {
			warn = append(warn, "CPU realtime limits left out: the host has no RT group scheduling")
			c.RealtimeRuntime, c.RealtimePeriod = nil, nil
		}
		if err := withinHost(c.Cpus, host.CPUs, resField+"cpuset_cpus"); err != nil {
			return nil, err
		}
		if err := withinHost(c.Mems, host.Mems, resField+"cpuset_mems"); err != nil {
			return nil, err
		}
	}
	return warn, nil
}

// dropMissingControllers removes unified keys of v2 controllers the host
// does not offer (rdma, misc, hugetlb ...): runc would fail the container.
func dropMissingControllers(r *specs.LinuxResources, have []string) []string {
	var warn []string
	for _, k := range sortedKeys(r.Unified) {
		ctrl, _, _ := strings.Cut(k, ".")
		if ctrl == "cgroup" || slices.Contains(have, ctrl) {
			continue
		}
		warn = append(warn, fmt.Sprintf("unified %s left out: the %s controller is not available", k, ctrl))
		delete(r.Unified, k)
	}
	return warn
}

// unifiedToV1 maps the unified keys that have a cgroup v1 equivalent and
// drops the rest with a warning (CRI-O does the same on v1 hosts).
func unifiedToV1(r *specs.LinuxResources, warn []string) ([]string, error) {
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	field := func(k string) string { return resField + "unified[" + k + "]" }
	for _, k := range sortedKeys(r.Unified) {
		v := strings.TrimSpace(r.Unified[k])
		var err error
		switch k {
		case "memory.max":
			err = setBytes(v, func(n int64) { mem().Limit = &n })
		case "memory.low":
			err = setBytes(v, func(n int64) { mem().Reservation = &n })
		case "memory.swap.max":
			// v1 limits memory+swap together.
			if l := mem().Limit; l != nil && *l > 0 {
				err = setBytes(v, func(n int64) { s := *l + n; mem().Swap = &s })
			} else {
				warn = append(warn, "unified memory.swap.max left out: needs a memory limit on cgroup v1")
			}
		case "cpu.weight":
			var w uint64
			if w, err = strconv.ParseUint(v, 10, 64); err == nil && (w < 1 || w > 10000) {
				err = fmt.Errorf("%d is outside 1..10000", w)
			}
			if err == nil {
				shares := 2 + ((w-1)*262142)/9999
				cpu().Shares = &shares
			}
		case "cpu.max":
			err = setCPUMax(v, cpu())
		case "cpuset.cpus":
			cpu().Cpus = v
		case "cpuset.mems":
			cpu().Mems = v
		case "pids.max":
			err = setBytes(v, func(n int64) { r.Pids = &specs.LinuxPids{Limit: &n} })
		default:
			warn = append(warn, fmt.Sprintf("unified %s left out: no cgroup v1 equivalent", k))
		}
		if err != nil {
			return nil, invalid(field(k), "%q: %v", v, err)
		}
	}
	r.Unified = nil
	return warn, nil
}

// setBytes parses a v2 value ("max" means no limit and sets nothing).
func setBytes(v string, set func(int64)) error {
	if v == "max" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("not a non-negative number or max")
	}
	set(n)
	return nil
}

func setCPUMax(v string, c *specs.LinuxCPU) error {
	q, p, hasPeriod := strings.Cut(v, " ")
	if hasPeriod {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("period is not a positive number")
		}
		c.Period = &n
	}
	if q == "max" {
		return nil
	}
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("quota is not a positive number or max")
	}
	c.Quota = &n
	return nil
}

// withinHost refuses a cpuset naming CPUs or nodes the host does not have:
// the CPU manager's placement is a guarantee, not a hint.
func withinHost(req, host, field string) error {
	if req == "" || host == "" {
		return nil
	}
	want, err := parseList(req)
	if err != nil {
		return invalid(field, "%q is not a CPU/node list", req)
	}
	have, err := parseList(host)
	if err != nil {
		return nil // the host's own list is unreadable: let the runtime judge
	}
	for n := range want {
		if !have[n] {
			return invalid(field, "%q names %d, which this host does not have (online: %s)", req, n, host)
		}
	}
	return nil
}

// parseList parses a kernel list such as "0-3,6" into its members.
func parseList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1<<16 {
				return nil, fmt.Errorf("bad range %q", part)
			}
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
