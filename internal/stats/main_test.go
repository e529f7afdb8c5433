package stats

import occgroups "github.com/opencontainers/cgroups"

// The fixtures are plain files: let the library read outside cgroupfs.
func init() { occgroups.TestMode = true }
