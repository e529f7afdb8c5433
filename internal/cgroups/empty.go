package cgroups

import (
	"errors"
	"os"
	"path/filepath"
)

// MakeEmpty creates the cgroup rel, holding no process, in every hierarchy
// of l where rel's parent exists (the parent is the kubelet's pod cgroup;
// one missing is left missing, nothing below the pod is made). A cgroup
// already there is fine.
func MakeEmpty(l Layout, rel string) error {
	rel = filepath.Clean("/" + rel)
	if rel == "/" {
		return errors.New("the root cgroup is no pod's")
	}
	var errs []error
	for _, root := range l.roots() {
		dir := filepath.Join(root, rel)
		if _, err := os.Stat(filepath.Dir(dir)); err != nil {
			continue
		}
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveEmpty removes the cgroup rel, and any empty cgroups below it, from
// every hierarchy of l. A cgroup that still has processes stays (rmdir
// fails with EBUSY); one already gone is fine. It reports whether rel is
// gone everywhere.
func RemoveEmpty(l Layout, rel string) bool {
	rel = filepath.Clean("/" + rel)
	if rel == "/" {
		return false // never the root
	}
	gone := true
	for _, root := range l.roots() {
		if !removeTree(filepath.Join(root, rel)) {
			gone = false
		}
	}
	return gone
}

// roots are l's hierarchies, each once (v1 controllers may share a mount).
func (l Layout) roots() []string {
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
	return roots
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
