package stats

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	occgroups "github.com/opencontainers/cgroups"
)

// DeviceIO is one block device's I/O by operation (Read, Write, Sync,
// Async, Discard, Total: the names v1 blkio and cAdvisor use).
type DeviceIO struct {
	Major, Minor uint64
	Bytes        map[string]uint64
	Ops          map[string]uint64
}

// blkioDevices merges the library's bytes and serviced entries by device.
func blkioDevices(st occgroups.BlkioStats) []DeviceIO {
	devs := map[[2]uint64]*DeviceIO{}
	for _, e := range st.IoServiceBytesRecursive {
		device(devs, [2]uint64{e.Major, e.Minor}).Bytes[e.Op] = e.Value
	}
	for _, e := range st.IoServicedRecursive {
		device(devs, [2]uint64{e.Major, e.Minor}).Ops[e.Op] = e.Value
	}
	return sortedDevices(devs)
}

// parseIOStat parses v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4
// dbytes=0 dios=0") into v1's operation names.
func parseIOStat(b []byte) []DeviceIO {
	devs := map[[2]uint64]*DeviceIO{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		key, ok := parseMajorMinor(f[0])
		if !ok {
			continue
		}
		d := device(devs, key)
		for _, kv := range f[1:] {
			k, vs, ok := strings.Cut(kv, "=")
			v, err := strconv.ParseUint(vs, 10, 64)
			if !ok || err != nil {
				continue
			}
			switch k {
			case "rbytes":
				d.Bytes["Read"] = v
			case "wbytes":
				d.Bytes["Write"] = v
			case "dbytes":
				d.Bytes["Discard"] = v
			case "rios":
				d.Ops["Read"] = v
			case "wios":
				d.Ops["Write"] = v
			case "dios":
				d.Ops["Discard"] = v
			}
		}
	}
	return sortedDevices(devs)
}

func parseMajorMinor(s string) ([2]uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return [2]uint64{}, false
	}
	maj, err1 := strconv.ParseUint(a, 10, 64)
	mnr, err2 := strconv.ParseUint(b, 10, 64)
	return [2]uint64{maj, mnr}, err1 == nil && err2 == nil
}

func device(devs map[[2]uint64]*DeviceIO, key [2]uint64) *DeviceIO {
	d := devs[key]
	if d == nil {
		d = &DeviceIO{Major: key[0], Minor: key[1], Bytes: map[string]uint64{}, Ops: map[string]uint64{}}
		devs[key] = d
	}
	return d
}

func sortedDevices(devs map[[2]uint64]*DeviceIO) []DeviceIO {
	if len(devs) == 0 {
		return nil
	}
	out := make([]DeviceIO, 0, len(devs))
	for _, d := range devs {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b DeviceIO) int {
		if c := cmp.Compare(a.Major, b.Major); c != 0 {
			return c
		}
		return cmp.Compare(a.Minor, b.Minor)
	})
	return out
}

var deviceNames sync.Map // "major:minor" -> "/dev/name"

// DeviceName is the /dev path of a block device, from the sysfs link
// /sys/dev/block/<major>:<minor>; "major:minor" when sysfs does not know it.
func DeviceName(major, minor uint64) string {
	key := fmt.Sprintf("%d:%d", major, minor)
	if v, ok := deviceNames.Load(key); ok {
		return v.(string)
	}
	name := key
	if target, err := os.Readlink(filepath.Join("/sys/dev/block", key)); err == nil {
		name = "/dev/" + filepath.Base(target)
	}
	deviceNames.Store(key, name)
	return name
}
