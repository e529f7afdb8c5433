package oci

import (
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// kernelAtLeast reports whether the running kernel is major.minor or newer.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, _ := strconv.Atoi(parts[0])
	mnr, _ := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return maj > major || maj == major && mnr >= minor
}

// KernelAtLeast is kernelAtLeast for other packages' feature checks.
func KernelAtLeast(major, minor int) bool { return kernelAtLeast(major, minor) }

var mountSetattr = sync.OnceValue(func() bool { return kernelAtLeast(5, 12) })

// RecursiveReadOnly reports whether the handler can make mounts read-only
// recursively ("rro"): runc 1.1+ and crun do, with mount_setattr (Linux 5.12).
func RecursiveReadOnly(runtimePath string) bool {
	base := filepath.Base(runtimePath)
	return mountSetattr() && (strings.HasPrefix(base, "runc") || strings.HasPrefix(base, "crun"))
}
