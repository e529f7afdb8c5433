package hostos

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/spec"
)

// CgroupRoot is where cgroup hierarchies are mounted.
const CgroupRoot = "/sys/fs/cgroup"

// Cgroups reads what this host's cgroups can enforce (the hierarchy the
// runtime will use: v2 only when CgroupRoot itself is cgroup2, as runc
// decides) and its online CPUs and memory nodes.
func Cgroups() spec.CgroupSupport {
	var st unix.Statfs_t
	v2 := unix.Statfs(CgroupRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	cs := spec.CgroupSupport{
		V2:            v2,
		HugepageSizes: HugepageSizes("/sys/kernel/mm/hugepages"),
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
	mounts := V1Mounts("/proc/self/mountinfo")
	cs.Hugetlb = mounts["hugetlb"] != ""
	cs.Swap = exists(mounts["memory"], "memory.memsw.limit_in_bytes")
	cs.BlkioWeight = exists(mounts["blkio"], "blkio.weight") || exists(mounts["blkio"], "blkio.bfq.weight")
	cs.CPURealtime = exists(mounts["cpu"], "cpu.rt_runtime_us")
	return cs
}

// HugepageSizes lists the page sizes under dir (hugepages-2048kB ...) in
// the CRI's form ("2MB", "1GB").
func HugepageSizes(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(kb, "kB"), 10, 64)
		if err != nil || n == 0 {
			continue
		}
		out = append(out, pageSizeName(n))
	}
	return out
}

func pageSizeName(kb uint64) string {
	switch {
	case kb%(1<<20) == 0:
		return strconv.FormatUint(kb>>20, 10) + "GB"
	case kb%(1<<10) == 0:
		return strconv.FormatUint(kb>>10, 10) + "MB"
	}
	return strconv.FormatUint(kb, 10) + "KB"
}

// V1Mounts maps each cgroup v1 controller to its mount point.
func V1Mounts(mountinfo string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(mountinfo)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 || tail[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(tail[2], ",") {
			switch opt {
			case "rw", "ro":
			default:
				if _, seen := out[opt]; !seen {
					out[opt] = fields[4]
				}
			}
		}
	}
	return out
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
