package stats

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/crio-runtime/crio/internal/cgroups"
)

// procsFile is the cgroup.procs of the cgroup rel: on v1 any controller
// lists the same processes; pids or memory is always mounted for crio.
func procsFile(l cgroups.Layout, rel string) string {
	if l.Unified {
		return filepath.Join(l.Dir("", rel), "cgroup.procs")
	}
	for _, ctl := range []string{"pids", "memory", "cpu"} {
		if d := l.Dir(ctl, rel); d != "" {
			return filepath.Join(d, "cgroup.procs")
		}
	}
	return ""
}

// addProcesses counts the open files and sockets of the cgroup's processes
// (and their threads when the pids controller did not). procRoot is
// /proc outside tests. Processes that exit meanwhile are skipped.
func addProcesses(l cgroups.Layout, s *Sample, rel, procRoot string) {
	p := procsFile(l, rel)
	if p == "" {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return
	}
	var threads uint64
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		if s.OpenFilesSoft == 0 {
			s.OpenFilesSoft = softOpenFiles(filepath.Join(procRoot, strconv.Itoa(pid), "limits"))
		}
		fds, socks := countFDs(filepath.Join(procRoot, strconv.Itoa(pid), "fd"))
		s.FileDescriptors += fds
		s.Sockets += socks
		if s.Threads == 0 {
			threads += statusThreads(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
		}
	}
	if s.Threads == 0 {
		s.Threads = threads
	}
}

// countFDs counts the entries of a /proc/<pid>/fd directory and those
// that are sockets (links to "socket:[inode]").
func countFDs(dir string) (fds, sockets uint64) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range ents {
		fds++
		if t, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(t, "socket:") {
			sockets++
		}
	}
	return fds, sockets
}

// statusThreads is the Threads: line of a /proc/<pid>/status file.
func statusThreads(p string) uint64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	return 0
}

// softOpenFiles is the soft limit of the "Max open files" line of a
// /proc/<pid>/limits file (0 when unlimited or unreadable).
func softOpenFiles(p string) uint64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
