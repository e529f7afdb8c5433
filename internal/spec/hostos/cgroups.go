package hostos

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	occgroups "github.com/opencontainers/cgroups"

	"github.com/crio-runtime/crio/internal/cgroups"
	"github.com/crio-runtime/crio/internal/spec"
)

// CgroupRoot is where cgroup hierarchies are mounted.
const CgroupRoot = "/sys/fs/cgroup"

// Cgroups reads what this host's cgroups can enforce (the hierarchy the
// runtime will use: v2 only when CgroupRoot itself is cgroup2, as runc
// decides) and its online CPUs and memory nodes.
func Cgroups() spec.CgroupSupport {
	v2 := occgroups.IsCgroup2UnifiedMode()
	cs := spec.CgroupSupport{
		V2:            v2,
		HugepageSizes: slices.Clone(occgroups.HugePageSizes()),
		CPUs:          readTrim("/sys/devices/system/cpu/online"),
		Mems:          readTrim("/sys/devices/system/node/online"),
	}
	if v2 {
		cs.Controllers = strings.Fields(readTrim(filepath.Join(CgroupRoot, "cgroup.controllers")))
		has := func(c string) bool { return slices.Contains(cs.Controllers, c) }
		cs.Hugetlb = has("hugetlb")
		cs.Swap = has("memory") && anyChildHas(CgroupRoot, "memory.swap.max")
		cs.BlkioWeight = has("io")
		// v2 has no RT group scheduling files: CPURealtime stays false.
		return cs
	}
	layout, _ := cgroups.DetectLayout()
	mounts := layout.V1
	cs.Hugetlb = mounts["hugetlb"] != ""
	cs.Swap = exists(mounts["memory"], "memory.memsw.limit_in_bytes")
	cs.BlkioWeight = exists(mounts["blkio"], "blkio.weight") || exists(mounts["blkio"], "blkio.bfq.weight")
	cs.CPURealtime = exists(mounts["cpu"], "cpu.rt_runtime_us")
	return cs
}

func exists(dir, file string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

func anyChildHas(dir, file string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.IsDir() && exists(filepath.Join(dir, e.Name()), file) {
			return true
		}
	}
	return false
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
