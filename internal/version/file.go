package version

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/crio-runtime/crio/internal/state"
)

// WriteFile records this build's version in file, as CRI-O does (a JSON
// string); an empty name writes nothing.
func WriteFile(file string) error {
	if file == "" {
		return nil
	}
	b, err := json.Marshal(Version)
	if err != nil {
		return err
	}
	if err := state.WriteFileAtomic(file, b, 0o644); err != nil {
		return fmt.Errorf("version file: %w", err)
	}
	return nil
}

// ShouldWipe applies CRI-O's rule to the version recorded in file: wipe when
// the file is missing or unreadable (the node rebooted, for the volatile
// file) or when its major.minor differs from this build's (an upgrade or
// downgrade). An empty name never wipes. The error says why a wipe is due.
func ShouldWipe(file string) (bool, error) {
	return shouldWipe(file, Version)
}

func shouldWipe(file, current string) (bool, error) {
	if file == "" {
		return false, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return true, err
	}
	var old string
	if err := json.Unmarshal(b, &old); err != nil {
		old = strings.TrimSpace(string(b))
	}
	if old == "" {
		return true, fmt.Errorf("version file %s is empty", file)
	}
	om, ok1 := majorMinor(old)
	cm, ok2 := majorMinor(current)
	if !ok1 || !ok2 { // not semver (a development build): any change counts
		return old != current, nil
	}
	return om != cm, nil
}

// majorMinor returns "X.Y" of a version like v1.37.2 or 1.37.0-dev.
func majorMinor(v string) (string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return "", false
	}
	minor, _, _ := strings.Cut(parts[1], "-")
	for _, p := range []string{parts[0], minor} {
		if _, err := strconv.Atoi(p); err != nil {
			return "", false
		}
	}
	return parts[0] + "." + minor, true
}
