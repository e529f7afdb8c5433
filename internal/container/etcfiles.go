package container

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// addUserEntries gives the container an /etc/passwd entry for its uid and
// an /etc/group entry for its gid when the image's files lack them, as
// CRI-O does: programs that look themselves up (whoami, id -gn, ssh,
// Python's getpass) otherwise fail. The image's file plus one line is
// written into the bundle and bind-mounted over the original; the rootfs is
// never changed. Nothing is added when the request mounts over the file or
// /etc, when the image has no such file, or when the file is writable to
// the container's user already (images that add their own entry at start).
func addUserEntries(rootfs, bundle string, s *specs.Spec, username string) error {
	if s.Process == nil {
		return nil
	}
	genPasswd, genGroup := true, true
	for _, m := range s.Mounts {
		switch path.Clean(m.Destination) {
		case "/etc":
			genPasswd, genGroup = false, false
		case "/etc/passwd":
			genPasswd = false
		case "/etc/group":
			genGroup = false
		}
	}
	uid, gid := s.Process.User.UID, s.Process.User.GID
	if username == "" {
		username = strconv.FormatUint(uint64(uid), 10)
	}
	if genPasswd {
		line := fmt.Sprintf("%s:x:%d:%d:%s user:/tmp:/sbin/nologin\n", username, uid, gid, username)
		if err := addEntry(s, rootfs, bundle, "/etc/passwd", uid, line); err != nil {
			return err
		}
	}
	if genGroup {
		line := fmt.Sprintf("%d:x:%d:\n", gid, gid)
		if err := addEntry(s, rootfs, bundle, "/etc/group", gid, line); err != nil {
			return err
		}
	}
	return nil
}

// addEntry appends line to a copy of the image's file when no entry has
// id in its third field, and mounts the copy over the file.
func addEntry(s *specs.Spec, rootfs, bundle, file string, id uint32, line string) error {
	p, err := securejoin.SecureJoin(rootfs, file)
	if err != nil {
		return nil //nolint:nilerr // an unresolvable file is one the image lacks
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size == 0 {
		return nil //nolint:nilerr // no file (or not a regular one): nothing to extend
	}
	// Writable by the container's user already: the image manages it.
	if st.Mode&0o022 != 0 || (st.Uid == id && st.Mode&0o200 != 0) {
		return nil
	}
	orig, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read image %s: %w", file, err)
	}
	if hasID(orig, id) {
		return nil
	}
	if len(orig) > 0 && orig[len(orig)-1] != '\n' {
		orig = append(orig, '\n')
	}
	dst := filepath.Join(bundle, filepath.Base(file))
	if err := os.WriteFile(dst, append(orig, line...), os.FileMode(st.Mode&0o777)); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Chown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", file, err)
	}
	s.Mounts = append(s.Mounts, specs.Mount{
		Destination: file, Type: "bind", Source: dst,
		Options: []string{"rbind", "rw", "nodev", "nosuid", "noexec"},
	})
	return nil
}

// hasID reports whether a passwd or group file has an entry with id.
func hasID(b []byte, id uint32) bool {
	want := []byte(strconv.FormatUint(uint64(id), 10))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.SplitN(sc.Bytes(), []byte(":"), 4)
		if len(f) >= 3 && bytes.Equal(bytes.TrimSpace(f[2]), want) {
			return true
		}
	}
	return false
}
