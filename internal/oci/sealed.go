package oci

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/pkg/monitor"
)

// sealedName names the memfd in /proc/<pid>/exe of a runtime run from it.
const sealedName = "crio-sealed-runc"

// Each "runc init" (every create and exec) of runc 1.1 protects runc's
// binary from the container (CVE-2019-5736): it bind-mounts or copies
// itself and re-executes, unless it already runs from a memfd sealed against
// every write, which no container can change either. The daemon keeps one
// such copy per runc binary and runs create and exec from it: one exec and
// mount fewer per container and per exec probe.

// sealedExe is one sealed copy. It is closed once replaced and no longer
// lent to a child being started.
type sealedExe struct {
	f     *os.File
	refs  int
	stale bool
}

// exeCache holds the sealed copy of one runtime binary, made again when the
// binary changes (an upgrade).
type exeCache struct {
	path string

	mu     sync.Mutex
	cur    *sealedExe
	key    fileKey
	failed fileKey // a binary that could not be sealed, not tried again
}

// fileKey tells a changed binary apart.
type fileKey struct {
	dev, ino    uint64
	size, mtime int64
}

func statKey(path string) (fileKey, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileKey{}, err
	}
	return fileKey{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano()}, nil
}

func newExeCache(path string) *exeCache { return &exeCache{path: path} }

// acquire returns the sealed copy of the binary as it is now, or nil: no
// cache, or the binary cannot be sealed (the runtime then runs from its
// path). A copy acquired must be released once the child holding it has
// started.
func (c *exeCache) acquire() *sealedExe {
	if c == nil {
		return nil
	}
	key, err := statKey(c.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || key == c.failed {
		return nil
	}
	if c.cur == nil || key != c.key {
		f, err := sealCopy(c.path)
		if err != nil {
			c.failed = key
			return nil
		}
		if old := c.cur; old != nil {
			old.stale = true
			if old.refs == 0 {
				old.f.Close()
			}
		}
		c.cur, c.key = &sealedExe{f: f}, key
	}
	c.cur.refs++
	return c.cur
}

func (c *exeCache) release(s *sealedExe) {
	if s == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.refs--
	if s.refs == 0 && s.stale {
		s.f.Close()
	}
}

// runFrom makes cmd, a runtime command, run from the copy, if there is one.
func (s *sealedExe) runFrom(cmd *exec.Cmd) {
	if s != nil {
		monitor.RunSealed(cmd, s.f)
	}
}

// file is the copy's file, nil for none.
func (s *sealedExe) file() *os.File {
	if s == nil {
		return nil
	}
	return s.f
}

// sealCopy copies the ELF binary at path into a sealed memfd and checks
// that it runs as runc.
func sealCopy(path string) (*os.File, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(in, magic); err != nil || !bytes.Equal(magic, []byte("\x7fELF")) {
		return nil, errors.New("not an ELF binary") // a script may locate files through $0
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate(sealedName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) { // before Linux 6.3 every memfd is executable
		fd, err = unix.MemfdCreate(sealedName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), sealedName)
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, monitor.SealedSeals); err != nil || !monitor.IsSealedCopy(fd) {
		f.Close()
		return nil, fmt.Errorf("seal runtime copy: %v", err)
	}
	cmd := exec.Command(path, "--version")
	monitor.RunSealed(cmd, f)
	out, err := cmd.Output()
	if err != nil || !bytes.HasPrefix(out, []byte("runc version")) {
		f.Close()
		return nil, fmt.Errorf("sealed copy of %s does not run as runc: %v", path, err)
	}
	return f, nil
}
