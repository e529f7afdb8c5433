package procattr

import (
	"slices"
	"testing"
)

func TestParseUlimit(t *testing.T) {
	tests := []struct {
		in      string
		want    Rlimit
		wantErr bool
	}{
		{"nofile=1024:2048", Rlimit{"RLIMIT_NOFILE", 1024, 2048}, false},
		{"nproc=512", Rlimit{"RLIMIT_NPROC", 512, 512}, false},
		{"MEMLOCK=-1:-1", Rlimit{"RLIMIT_MEMLOCK", ^uint64(0), ^uint64(0)}, false},
		{"nofile=-1:-1", Rlimit{"RLIMIT_NOFILE", ^uint64(0), ^uint64(0)}, false},
		{"nofile=2048:1024", Rlimit{}, true},
		{"nofile=-1:1024", Rlimit{}, true},
		{"bogus=1", Rlimit{}, true},
		{"nofile", Rlimit{}, true},
		{"nofile=x", Rlimit{}, true},
	}
	for _, tt := range tests {
		got, err := ParseUlimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseUlimit(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestCapabilities(t *testing.T) {
	if len(KnownCapabilities) != 41 || KnownCapabilities[0] != "CAP_CHOWN" || KnownCapabilities[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Fatalf("known capabilities %v", KnownCapabilities)
	}
	for i, c := range KnownCapabilities {
		if CapabilityIndex(c) != i {
			t.Errorf("CapabilityIndex(%s) = %d, want %d", c, CapabilityIndex(c), i)
		}
	}
	for in, want := range map[string]string{"net_admin": "CAP_NET_ADMIN", "CAP_SYS_ADMIN": "CAP_SYS_ADMIN", " kill ": "CAP_KILL", " CAP_BPF ": "CAP_BPF", "checkpoint_restore": "CAP_CHECKPOINT_RESTORE"} {
		if got, ok := NormalizeCapability(in); !ok || got != want {
			t.Errorf("NormalizeCapability(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"CAP_ALL", "FLY", ""} {
		if _, ok := NormalizeCapability(bad); ok {
			t.Errorf("NormalizeCapability(%q) accepted", bad)
		}
	}
	for _, c := range DefaultCapabilities {
		if n, ok := NormalizeCapability(c); !ok || !slices.Contains(KnownCapabilities, n) {
			t.Errorf("default capability %s unknown", c)
		}
	}
}
