package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// oomWatcher notices OOM kills in the container's memory cgroup: on cgroup v1
// through an eventfd registered on memory.oom_control, and on both versions by
// comparing the oom_kill counter at exit with its value at create.
//
// It stays hand-written rather than using opencontainers/cgroups (whose
// ParseCgroupFile and fs/fs2.OOMKillCount would replace memoryCgroup and
// count; the library has no OOM eventfd helper): measured on a cgroup v1
// host with three idle monitors, linking the library raised each monitor's
// VmRSS from 3468 kB to 5780 kB (Pss 1734 to 2211 KiB) and the stripped
// binary from 2.67 MB to 3.66 MB, for about 40 lines saved.
type oomWatcher struct {
	log     *slog.Logger
	file    string // memory.oom_control (v1) or memory.events (v2)
	base    int64  // oom_kill count at create; -1 when the kernel has none
	seen    atomic.Bool
	efd     *os.File
	control *os.File // kept open while the eventfd is registered
}

func watchOOM(pid int, log *slog.Logger) *oomWatcher {
	w := &oomWatcher{log: log}
	v1, v2 := memoryCgroup(pid)
	switch {
	case v1 != "":
		w.file = filepath.Join(v1, "memory.oom_control")
	case v2 != "":
		w.file = filepath.Join(v2, "memory.events")
	default:
		log.Warn("no memory cgroup found; OOM kills will not be reported", "pid", pid)
		return w
	}
	w.base, _ = w.count()
	if v1 != "" {
		if err := w.registerV1(v1); err != nil {
			log.Warn("oom eventfd", "err", err)
		}
	}
	return w
}

// memoryCgroup returns the v1 memory cgroup directory or the v2 cgroup
// directory of pid.
func memoryCgroup(pid int) (v1, v2 string) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			var st unix.Statfs_t
			if unix.Statfs(cgroupRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
				v2 = filepath.Join(cgroupRoot, parts[2])
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1 = filepath.Join(cgroupRoot, "memory", parts[2])
			}
		}
	}
	return v1, v2
}

// count reads the oom_kill counter; -1 means the kernel does not report it.
func (w *oomWatcher) count() (int64, error) {
	data, err := os.ReadFile(w.file)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return -1, nil
}

func (w *oomWatcher) registerV1(dir string) error {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return err
	}
	w.efd = os.NewFile(uintptr(efd), "oom-eventfd")
	if w.control, err = os.Open(w.file); err != nil {
		w.efd.Close()
		return err
	}
	spec := strconv.Itoa(efd) + " " + strconv.Itoa(int(w.control.Fd()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(spec), 0); err != nil {
		w.efd.Close()
		w.control.Close()
		return err
	}
	go w.readEvents()
	return nil
}

// readEvents runs until the eventfd is closed or the cgroup is removed (v1
// also signals the eventfd on removal, hence the re-check of the counter).
func (w *oomWatcher) readEvents() {
	buf := make([]byte, 8)
	for {
		if _, err := w.efd.Read(buf); err != nil {
			return
		}
		if binary.NativeEndian.Uint64(buf) == 0 {
			continue
		}
		n, err := w.count()
		if err != nil {
			return // cgroup removed
		}
		if n < 0 || n > w.base {
			w.log.Info("oom event")
			w.seen.Store(true)
		}
	}
}

// finish stops watching and reports whether an OOM kill happened.
func (w *oomWatcher) finish() bool {
	if w.file != "" {
		if n, err := w.count(); err == nil && n > w.base && w.base >= 0 {
			w.seen.Store(true)
		}
	}
	if w.efd != nil {
		w.efd.Close()
		w.control.Close()
	}
	return w.seen.Load()
}
