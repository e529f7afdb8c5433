package stats

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NetDev is one interface's counters from /proc/net/dev.
type NetDev struct {
	Name                         string
	RxBytes, RxPackets, RxErrors uint64
	TxBytes, TxPackets, TxErrors uint64
	RxDropped, TxDropped         uint64
}

// ParseNetDev parses the /proc/net/dev format.
func ParseNetDev(b []byte) ([]NetDev, error) {
	var out []NetDev
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue // the two header lines
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return nil, fmt.Errorf("short /proc/net/dev line for %q", strings.TrimSpace(name))
		}
		var n [16]uint64
		for i := range n {
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse /proc/net/dev %q: %w", strings.TrimSpace(name), err)
			}
			n[i] = v
		}
		out = append(out, NetDev{
			Name:    strings.TrimSpace(name),
			RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11],
		})
	}
	return out, sc.Err()
}

// ReadNetNS reads /proc/net/dev as seen from the network namespace pinned
// at nsPath. It enters the namespace on a locked thread and reads the
// thread's own view (/proc/thread-self: /proc/self would show the main
// thread's namespace).
func ReadNetNS(nsPath string) ([]NetDev, error) {
	type result struct {
		devs []NetDev
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		devs, restored, err := readInNetNS(nsPath)
		if restored {
			runtime.UnlockOSThread()
		} // else: the goroutine ends locked and Go discards the thread.
		ch <- result{devs, err}
	}()
	r := <-ch
	return r.devs, r.err
}

func readInNetNS(nsPath string) (_ []NetDev, restored bool, _ error) {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, fmt.Errorf("open own netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, true, fmt.Errorf("open pod netns: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter pod netns: %w", err)
	}
	b, rerr := os.ReadFile("/proc/thread-self/net/dev")
	restored = unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil
	if rerr != nil {
		return nil, restored, fmt.Errorf("read pod /proc/net/dev: %w", rerr)
	}
	devs, err := ParseNetDev(b)
	return devs, restored, err
}
