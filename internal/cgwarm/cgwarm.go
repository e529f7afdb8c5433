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
// A warm write on an open cgroup.procs costs about 4 us.
const every = 3 * time.Millisecond

// recheck is how often a run of writes looks again at which cgroup the
// daemon is in: reading /proc/self/cgroup and opening cgroup.procs cost
// about 50 us, ten times the write.
const recheck = 100 * time.Millisecond

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
		go func() {
			pw := &procsWriter{procs: ownProcs, pid: strconv.Itoa(os.Getpid())}
			defer pw.close()
			w.loop(pw.warm)
		}()
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

func (w *warmer) loop(warm func()) {
	for {
		warm()
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

// procsWriter writes pid into the cgroup.procs that procs names, kept open
// for a run of writes and looked up again every recheck, so that a daemon
// its supervisor moved is not moved back for longer than that.
type procsWriter struct {
	procs   func() string
	pid     string
	path    string
	f       *os.File
	checked time.Time
}

func (pw *procsWriter) warm() {
	if now := time.Now(); pw.checked.IsZero() || now.Sub(pw.checked) >= recheck {
		pw.checked = now
		if p := pw.procs(); p != pw.path || pw.f == nil {
			pw.close()
			pw.path = p
			if p != "" {
				pw.f, _ = os.OpenFile(p, os.O_WRONLY, 0) // only an existing file
			}
		}
	}
	if pw.f != nil {
		_, _ = pw.f.WriteString(pw.pid)
	}
}

func (pw *procsWriter) close() {
	if pw.f != nil {
		_ = pw.f.Close()
		pw.f = nil
	}
}

// ownProcs is the cgroup.procs of the cgroup this process is in; "" when
// no cgroup mount is found.
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
