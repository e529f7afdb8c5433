package framework

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// WaitingMonitors are the detached monitors launched ahead by this daemon
// and still waiting for a config: their stdin is a pipe whose write end the
// daemon holds.
func (d *Daemon) WaitingMonitors() []int {
	held := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.Pid()))
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", d.Pid(), fd.Name())); err == nil {
			held[l] = true
		}
	}
	var out []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(cmd), "\x00--detached-monitor") {
			continue
		}
		if in, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", pid)); err == nil && strings.HasPrefix(in, "pipe:") && held[in] {
			out = append(out, pid)
		}
	}
	return out
}
