package cgroups

import (
	"os"
	"path/filepath"
)

// RemoveEmpty removes the cgroup rel, and any empty cgroups below it, from
// every hierarchy of l. A cgroup that still has processes stays (rmdir
// fails with EBUSY); one already gone is fine. It reports whether rel is
// gone everywhere.
func RemoveEmpty(l Layout, rel string) bool {
	rel = filepath.Clean("/" + rel)
	if rel == "/" {
		return false // never the root
	}
	var roots []string
	if l.Unified {
		roots = append(roots, l.V2Root)
	}
	seen := map[string]bool{}
	for _, m := range l.V1 {
		if !seen[m] {
			seen[m] = true
			roots = append(roots, m)
		}
	}
	if l.Hybrid != "" {
		roots = append(roots, l.Hybrid)
	}
	gone := true
	for _, root := range roots {
		if !removeTree(filepath.Join(root, rel)) {
			gone = false
		}
	}
	return gone
}

// removeTree rmdirs dir's cgroup subdirectories, deepest first, then dir
// (cgroup directories take rmdir only; their files go with them).
func removeTree(dir string) bool {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return true
	}
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	err = os.Remove(dir)
	return err == nil || os.IsNotExist(err)
}
