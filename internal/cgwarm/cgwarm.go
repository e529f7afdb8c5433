// Package cgwarm hides the kernel's wait in a cgroup migration behind the
// runtime's own start-up.
//
// Every container the runtime creates and every process it execs is moved
// into a cgroup by a write to cgroup.procs. That write takes the kernel's
// global cgroup_threadgroup_rwsem for writing, and unless the cgroup mounts
// carry favordynmods, the first writer after a quiet spell waits a whole RCU
// grace period (5-10 ms on a 2-core VM); writers within about a grace period
// after it do not wait. Hold starts that wait as the daemon hands the work
// to the runtime, which takes 10-15 ms to reach its own write, and keeps the
// lock warm until the work is done: the runtime's write then never waits.
// Its writes move the daemon into the cgroup it is already in, so nothing
// changes but the lock's state.
package cgwarm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	occgroups "github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// every is how often a held lock is re-warmed: well inside the grace period
// after a write (5-10 ms here) during which the next writer does not wait.
// A warm write costs about 60 us.
const every = 3 * time.Millisecond

// maxHold bounds a hold whose release comes late (an exec whose command
// runs on): the runtime's write comes within its start-up.
const maxHold = 250 * time.Millisecond

var w warmer

// warmer re-writes while any hold is on, one goroutine for all holders.
type warmer struct {
	mu      sync.Mutex
	holds   int
	until   time.Time
	running bool
}

// Hold keeps the lock warm from now until release is called (or maxHold has
// passed), so the runtime's move of a process into its cgroup does not wait
// for a grace period whenever it comes. It never blocks and ignores every
// error: it only saves time.
func Hold() (release func()) {
	w.mu.Lock()
	w.holds++
	if u := time.Now().Add(maxHold); u.After(w.until) {
		w.until = u
	}
	if !w.running {
		w.running = true
		go w.loop(ownProcs)
	}
	w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			w.holds--
			w.mu.Unlock()
		})
	}
}

func (w *warmer) loop(procs func() string) {
	for {
		if p := procs(); p != "" {
			_ = writePid(p, os.Getpid())
		}
		w.mu.Lock()
		if w.holds <= 0 || time.Now().After(w.until) {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		time.Sleep(every)
	}
}

func writePid(procs string, pid int) error {
	f, err := os.OpenFile(procs, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(pid))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ownProcs is the cgroup.procs of the cgroup this process is in, read at
// each call so that a daemon its supervisor moved is never moved back; ""
// when no cgroup mount is found.
func ownProcs() string {
	cg, err := occgroups.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	return procsFor(cg, mounted())
}

// hierarchy is one mounted cgroup hierarchy: any will do, the lock is
// global. key names it in /proc/self/cgroup ("" is the unified one).
type hierarchy struct{ dir, key string }

var (
	mountOnce sync.Once
	mount     hierarchy
)

// mounted finds a hierarchy once (a node's cgroup mounts do not move): the
// unified one on a v2 or hybrid host, else a v1 controller's.
func mounted() hierarchy {
	mountOnce.Do(func() {
		var st unix.Statfs_t
		for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
			if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
				mount = hierarchy{dir: dir}
				return
			}
		}
		for _, ctl := range []string{"pids", "memory", "cpu"} {
			dir := filepath.Join("/sys/fs/cgroup", ctl)
			if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
				mount = hierarchy{dir: dir, key: ctl}
				return
			}
		}
	})
	return mount
}

// procsFor is the cgroup.procs, in hierarchy h, of the cgroups in cg (as
// parsed from /proc/self/cgroup).
func procsFor(cg map[string]string, h hierarchy) string {
	p, ok := cg[h.key]
	if h.dir == "" || !ok || !strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
		return ""
	}
	return filepath.Join(h.dir, p, "cgroup.procs")
}
