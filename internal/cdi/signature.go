package cdi

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// signature describes the spec files of dirs as the library would read
// them (*.json and *.yaml, not recursive): name, inode, size and change
// time of each, following symlinks. Any edit, rename into place or removal
// changes it, and it costs one listing and a stat per file.
func signature(dirs []string) string {
	var b strings.Builder
	for _, dir := range dirs {
		fmt.Fprintf(&b, "%s\x00", dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(&b, "!%v\x00", err)
			continue
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); ext != ".json" && ext != ".yaml" {
				continue
			}
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				fmt.Fprintf(&b, "%s!\x00", e.Name())
				continue
			}
			var ino uint64
			var ctime int64
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				ino, ctime = st.Ino, st.Ctim.Nano()
			}
			fmt.Fprintf(&b, "%s %d %d %d %d\x00", e.Name(), ino, fi.Size(), fi.ModTime().UnixNano(), ctime)
		}
	}
	return b.String()
}
