package procattr

import (
	"fmt"
	"strconv"
	"strings"
)

// Rlimit is one parsed default_ulimits entry.
type Rlimit struct {
	Type       string // RLIMIT_NOFILE
	Soft, Hard uint64
}

var rlimitNames = map[string]bool{
	"as": true, "core": true, "cpu": true, "data": true, "fsize": true, "locks": true,
	"memlock": true, "msgqueue": true, "nice": true, "nofile": true, "nproc": true,
	"rss": true, "rtprio": true, "rttime": true, "sigpending": true, "stack": true,
}

// ParseUlimit parses "name=soft[:hard]" (CRI-O's default_ulimits form);
// -1 means unlimited.
func ParseUlimit(s string) (Rlimit, error) {
	name, val, ok := strings.Cut(s, "=")
	name = strings.ToLower(name)
	if !ok || !rlimitNames[name] {
		return Rlimit{}, fmt.Errorf("%q: want name=soft[:hard] with a known name", s)
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	soft, err := parseLimit(softS)
	if err != nil {
		return Rlimit{}, fmt.Errorf("%q: %w", s, err)
	}
	hard := soft
	if hasHard {
		if hard, err = parseLimit(hardS); err != nil {
			return Rlimit{}, fmt.Errorf("%q: %w", s, err)
		}
	}
	if soft > hard {
		return Rlimit{}, fmt.Errorf("%q: soft limit above hard limit", s)
	}
	return Rlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: soft, Hard: hard}, nil
}

func parseLimit(s string) (uint64, error) {
	if s == "-1" {
		return ^uint64(0), nil
	}
	return strconv.ParseUint(s, 10, 64)
}
