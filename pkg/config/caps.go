package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// knownCapabilities are the Linux capability names without the CAP_ prefix.
var knownCapabilities = strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
CHECKPOINT_RESTORE`)

// ValidCapability reports whether name (with or without CAP_) is a Linux capability.
func ValidCapability(name string) bool {
	return contains(knownCapabilities, strings.TrimPrefix(strings.ToUpper(name), "CAP_"))
}

// Ulimit is one parsed default_ulimits entry.
type Ulimit struct {
	Name       string
	Soft, Hard uint64
}

var ulimitNames = strings.Fields(`core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack as`)

// ParseUlimit parses "<name>=<soft>:<hard>" (or "<name>=<both>").
func ParseUlimit(s string) (Ulimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok || !contains(ulimitNames, name) {
		return Ulimit{}, fmt.Errorf("must be <name>=<soft>:<hard> with name one of %s", strings.Join(ulimitNames, ", "))
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	if !hasHard {
		hardS = softS
	}
	soft, err1 := strconv.ParseUint(softS, 10, 64)
	hard, err2 := strconv.ParseUint(hardS, 10, 64)
	if err1 != nil || err2 != nil {
		return Ulimit{}, fmt.Errorf("soft and hard limits must be non-negative integers")
	}
	if soft > hard {
		return Ulimit{}, fmt.Errorf("soft limit %d is above hard limit %d", soft, hard)
	}
	return Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

func parseDuration(s string) (time.Duration, error) { return time.ParseDuration(s) }
