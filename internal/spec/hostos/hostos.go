// Package hostos is the real-machine implementation of spec.Host, plus
// helpers that read what the runtime may grant (capabilities, lowest
// oom_score_adj) so they can be put into spec.RuntimeOptions.
package hostos

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/procattr"
	"github.com/crio-runtime/crio/internal/spec"
)

// Host reads the local machine.
type Host struct{}

var _ spec.Host = Host{}

// ReadFile reads a whole file.
func (Host) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

// EvalSymlinks resolves every symlink in path.
func (Host) EvalSymlinks(path string) (string, error) { return filepath.EvalSymlinks(path) }

// skipDirs under /dev are never handed out as devices: the container gets
// its own devpts, shm and mqueue.
var skipDirs = map[string]bool{"pts": true, "shm": true, "mqueue": true}

// Devices returns the device node at path (following a symlink) or every
// device node below a directory (symlinks inside it are skipped).
func (Host) Devices(path string) ([]specs.LinuxDevice, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		d, err := device(path, fi)
		if err != nil {
			return nil, err
		}
		return []specs.LinuxDevice{d}, nil
	}
	var out []specs.LinuxDevice
	err = filepath.WalkDir(path, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
				return nil // vanished or unreadable nodes are not ours to give
			}
			return err
		}
		if de.IsDir() {
			if p != path && skipDirs[de.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if de.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return nil
		}
		d, err := device(p, fi)
		if err != nil {
			return nil
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

func device(path string, fi fs.FileInfo) (specs.LinuxDevice, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return specs.LinuxDevice{}, fmt.Errorf("%s: no stat data", path)
	}
	var typ string
	switch {
	case fi.Mode()&fs.ModeCharDevice != 0:
		typ = "c"
	case fi.Mode()&fs.ModeDevice != 0:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s is not a device node", path)
	}
	mode := fi.Mode().Perm()
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: path, Type: typ,
		Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// BoundingCapabilities returns the capabilities in this process's bounding
// set, i.e. what the runtime can grant (spec.RuntimeOptions.HostCapabilities).
func BoundingCapabilities() ([]string, error) {
	v, err := statusField("CapBnd")
	if err != nil {
		return nil, err
	}
	mask, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return nil, fmt.Errorf("parse CapBnd %q: %w", v, err)
	}
	var out []string
	for i, name := range procattr.KnownCapabilities {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, name)
		}
	}
	return out, nil
}

// MinOOMScoreAdj is the lowest oom_score_adj this process may give a child:
// -1000 with CAP_SYS_RESOURCE, otherwise its own value.
func MinOOMScoreAdj() (int, error) {
	v, err := statusField("CapEff")
	if err != nil {
		return 0, err
	}
	eff, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("parse CapEff %q: %w", v, err)
	}
	const capSysResource = 24
	if eff&(1<<capSysResource) != 0 {
		return -1000, nil
	}
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func statusField(name string) (string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == name {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s not found in /proc/self/status", name)
}
