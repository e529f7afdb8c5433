package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Resources are the cgroup limits UpdatePodSandboxResources applies; zero
// values are left alone.
type Resources struct {
	CPUShares   uint64
	CPUQuota    int64 // -1 removes the quota
	CPUPeriod   uint64
	MemoryLimit int64
	CpusetCpus  string
	CpusetMems  string
	Unified     map[string]string // v2 files, by name
}

// Add returns the element-wise sum, for a pod's resources plus overhead.
func (r Resources) Add(o Resources) Resources {
	out := r
	out.CPUShares += o.CPUShares
	if r.CPUQuota > 0 && o.CPUQuota > 0 {
		out.CPUQuota += o.CPUQuota
	}
	if out.CPUPeriod == 0 {
		out.CPUPeriod = o.CPUPeriod
	}
	if r.MemoryLimit > 0 && o.MemoryLimit > 0 {
		out.MemoryLimit += o.MemoryLimit
	}
	return out
}

// ErrNoCgroup means the pod's cgroup does not exist (yet).
var ErrNoCgroup = errors.New("pod cgroup does not exist")

// Apply writes r to the cgroup rel. Each write is attempted; the errors
// are joined.
func (l Layout) Apply(rel string, r Resources) error {
	if rel == "" || rel == "/" {
		return ErrNoCgroup
	}
	var w writes
	if l.Unified {
		w = l.v2Writes(rel, r)
	} else {
		w = l.v1Writes(rel, r)
	}
	if len(w) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Dir(w[0].path)); errors.Is(err, fs.ErrNotExist) {
		return ErrNoCgroup
	}
	var errs []error
	for _, x := range w {
		if err := os.WriteFile(x.path, []byte(x.value), 0); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", x.path, err))
		}
	}
	return errors.Join(errs...)
}

type writes []struct{ path, value string }

func (w *writes) add(dir, file, value string) {
	if dir == "" {
		return
	}
	*w = append(*w, struct{ path, value string }{filepath.Join(dir, file), value})
}

// cpuset writes the cpuset files, named alike on both versions.
func (w *writes) cpuset(dir string, r Resources) {
	if r.CpusetCpus != "" {
		w.add(dir, "cpuset.cpus", r.CpusetCpus)
	}
	if r.CpusetMems != "" {
		w.add(dir, "cpuset.mems", r.CpusetMems)
	}
}

func (l Layout) v1Writes(rel string, r Resources) writes {
	var w writes
	cpu, mem, cpuset := l.Dir("cpu", rel), l.Dir("memory", rel), l.Dir("cpuset", rel)
	if r.CPUShares > 0 {
		w.add(cpu, "cpu.shares", strconv.FormatUint(r.CPUShares, 10))
	}
	if r.CPUPeriod > 0 {
		w.add(cpu, "cpu.cfs_period_us", strconv.FormatUint(r.CPUPeriod, 10))
	}
	if r.CPUQuota != 0 {
		w.add(cpu, "cpu.cfs_quota_us", strconv.FormatInt(r.CPUQuota, 10))
	}
	if r.MemoryLimit > 0 {
		w.add(mem, "memory.limit_in_bytes", strconv.FormatInt(r.MemoryLimit, 10))
	}
	w.cpuset(cpuset, r)
	return w
}

func (l Layout) v2Writes(rel string, r Resources) writes {
	var w writes
	dir := l.Dir("", rel)
	if r.CPUShares > 0 {
		w.add(dir, "cpu.weight", strconv.FormatUint(SharesToWeight(r.CPUShares), 10))
	}
	if r.CPUQuota != 0 || r.CPUPeriod > 0 {
		quota := "max"
		if r.CPUQuota > 0 {
			quota = strconv.FormatInt(r.CPUQuota, 10)
		}
		period := r.CPUPeriod
		if period == 0 {
			period = 100000
		}
		w.add(dir, "cpu.max", quota+" "+strconv.FormatUint(period, 10))
	}
	if r.MemoryLimit > 0 {
		w.add(dir, "memory.max", strconv.FormatInt(r.MemoryLimit, 10))
	}
	w.cpuset(dir, r)
	for k, v := range r.Unified {
		if !strings.Contains(k, "/") && !strings.HasPrefix(k, ".") {
			w.add(dir, k, v)
		}
	}
	return w
}

// SharesToWeight converts v1 cpu.shares [2, 262144] to v2 cpu.weight
// [1, 10000], the conversion runc and the kubelet use.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares < 2 {
		shares = 2
	}
	if shares > 262144 {
		shares = 262144
	}
	return 1 + ((shares-2)*9999)/262142
}

// WeightToShares inverts SharesToWeight (v2 cpu.weight [1, 10000] to v1
// cpu.shares [2, 262144]), as cAdvisor does.
func WeightToShares(weight uint64) uint64 {
	if weight == 0 {
		return 0
	}
	return 2 + ((weight-1)*262142)/9999
}
