package sandbox

import (
	"errors"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

func TestValidateUserns(t *testing.T) {
	one := func(c, h, l uint32) []*runtimeapi.IDMapping {
		return []*runtimeapi.IDMapping{{ContainerId: c, HostId: h, Length: l}}
	}
	pod := func(uids, gids []*runtimeapi.IDMapping) *runtimeapi.NamespaceOption {
		return &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: uids, Gids: gids}}
	}
	two := append(one(0, 1000, 100000), one(0, 2000, 100000)...)
	for name, tc := range map[string]struct {
		nso  *runtimeapi.NamespaceOption
		want string // "" = valid
		some bool   // a user namespace is asked for
	}{
		"unset":           {nso: &runtimeapi.NamespaceOption{}},
		"node":            {nso: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}}},
		"pod":             {nso: pod(one(0, 1000, 65536), one(0, 1000, 65536)), some: true},
		"node with ids":   {nso: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE, Uids: one(0, 1000, 1)}}, want: "mode NODE"},
		"container":       {nso: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_CONTAINER}}, want: "CONTAINER"},
		"target":          {nso: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_TARGET}}, want: "TARGET"},
		"two uid ranges":  {nso: pod(two, one(0, 1000, 65536)), want: "uids: need exactly one"},
		"two gid ranges":  {nso: pod(one(0, 1000, 65536), two), want: "gids: need exactly one"},
		"no gids":         {nso: pod(one(0, 1000, 65536), nil), want: "gids: need exactly one"},
		"root unmapped":   {nso: pod(one(1, 1000, 65536), one(0, 1000, 65536)), want: "container id 0"},
		"gid 0 unmapped":  {nso: pod(one(0, 1000, 65536), one(1, 1000, 65536)), want: "container id 0"},
		"empty range":     {nso: pod(one(0, 1000, 0), one(0, 1000, 65536)), want: "length"},
		"host root":       {nso: pod(one(0, 0, 65536), one(0, 1000, 65536)), want: "host's root"},
		"overflow":        {nso: pod(one(0, 4294967000, 65536), one(0, 1000, 65536)), want: "overflow"},
		"with host pid":   {nso: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE, UsernsOptions: pod(one(0, 1000, 65536), one(0, 1000, 65536)).UsernsOptions}, want: "PID or IPC"},
		"with host ipc":   {nso: &runtimeapi.NamespaceOption{Ipc: runtimeapi.NamespaceMode_NODE, UsernsOptions: pod(one(0, 1000, 65536), one(0, 1000, 65536)).UsernsOptions}, want: "PID or IPC"},
		"with host netns": {nso: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, UsernsOptions: pod(one(0, 1000, 65536), one(0, 1000, 65536)).UsernsOptions}, some: true},
	} {
		u, err := ValidateUserns(tc.nso)
		if tc.want == "" {
			if err != nil || (u != nil) != tc.some {
				t.Errorf("%s: got %+v, %v", name, u, err)
			}
			continue
		}
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want InvalidArgument naming %q", name, err, tc.want)
		}
	}
}

func TestCheckUsernsUnsupportedHandler(t *testing.T) {
	nso := &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD,
		Uids: []*runtimeapi.IDMapping{{HostId: 1000, Length: 10}}, Gids: []*runtimeapi.IDMapping{{HostId: 1000, Length: 10}}}}
	if _, err := checkUserns(nso, "runc", false); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("unsupported handler: %v, want FailedPrecondition", err)
	}
	if u, err := checkUserns(nso, "runc-idmap", true); err != nil || u == nil {
		t.Errorf("supported handler: %v, %v", u, err)
	}
}

func TestHostID(t *testing.T) {
	m := []IDMap{{ContainerID: 0, HostID: 1000, Size: 10}}
	if h, ok := HostID(m, 9); !ok || h != 1009 {
		t.Errorf("HostID(9) = %d, %v", h, ok)
	}
	if _, ok := HostID(m, 10); ok {
		t.Error("HostID(10) mapped")
	}
}
