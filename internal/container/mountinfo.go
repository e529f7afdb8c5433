package container

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// mountOf returns the mount point that holds path and its optional fields
// (shared:N, master:N) from /proc/self/mountinfo.
func mountOf(path string) (string, string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", "", err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	best, bestOpts := "", ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 7 {
			continue
		}
		mp := fields[4]
		if (real == mp || strings.HasPrefix(real, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			opt := ""
			for _, o := range fields[6:] {
				if o == "-" {
					break
				}
				opt += o + " "
			}
			best, bestOpts = mp, opt
		}
	}
	if best == "" {
		return "", "", fmt.Errorf("no mount holds %s", path)
	}
	return best, bestOpts, nil
}

func hasOpt(opts, prefix string) bool {
	for _, o := range strings.Fields(opts) {
		if strings.HasPrefix(o, prefix) {
			return true
		}
	}
	return false
}
