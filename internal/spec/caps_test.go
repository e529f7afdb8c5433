package spec

import (
	"slices"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/procattr"
)

// hostCaps is this machine's root: everything but CAP_SYS_RESOURCE.
func hostCaps() []string {
	var out []string
	for _, c := range procattr.KnownCapabilities {
		if c != "CAP_SYS_RESOURCE" {
			out = append(out, c)
		}
	}
	return out
}

func TestCapabilities(t *testing.T) {
	allHost := hostCaps()
	tests := []struct {
		name        string
		add, drop   []string
		ambient     []string
		uid         *runtimeapi.Int64Value
		defaults    []string
		privileged  bool
		want        []string
		wantAmbient []string
		errKind     string
		errField    string
	}{
		{name: "default set", want: defaultCaps},
		{name: "kubelet add NET_ADMIN", add: []string{"NET_ADMIN"}, want: append(slices.Clone(defaultCaps), "CAP_NET_ADMIN")},
		{name: "prefixed and lower-case names", add: []string{"CAP_SYS_PTRACE", "net_raw"}, want: append(slices.Clone(defaultCaps), "CAP_SYS_PTRACE", "CAP_NET_RAW")},
		{name: "drop one", drop: []string{"KILL", "CHOWN"}, want: []string{"CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE"}},
		{name: "restricted: drop ALL add NET_BIND_SERVICE", drop: []string{"ALL"}, add: []string{"NET_BIND_SERVICE"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "drop ALL", drop: []string{"ALL"}, want: []string{}},
		{name: "add ALL drop CHOWN", add: []string{"ALL"}, drop: []string{"CHOWN"}, want: without(allHost, "CAP_CHOWN")},
		{name: "add ALL is what the runtime holds", add: []string{"ALL"}, want: allHost},
		{name: "add and drop same: drop wins", add: []string{"NET_ADMIN"}, drop: []string{"NET_ADMIN"}, want: defaultCaps},
		{name: "configured defaults", defaults: []string{"CHOWN", "CAP_KILL"}, want: []string{"CAP_CHOWN", "CAP_KILL"}},
		{name: "unknown add", add: []string{"NET_ADMIN", "FLY"}, errKind: "invalid", errField: "add_capabilities[1]"},
		{name: "unknown drop", drop: []string{"WALK"}, errKind: "invalid", errField: "drop_capabilities[0]"},
		{name: "unknown default", defaults: []string{"NOPE"}, errKind: "invalid", errField: "default_capabilities[0]"},
		{name: "not grantable", add: []string{"SYS_RESOURCE"}, errKind: "precondition", errField: "CAP_SYS_RESOURCE"},
		{name: "privileged gets all the runtime holds", privileged: true, drop: []string{"ALL"}, want: allHost},
		{name: "ambient ignored for root", ambient: []string{"NET_BIND_SERVICE"}, want: defaultCaps},
		{name: "ambient for non-root", uid: i64(1000), drop: []string{"ALL"}, ambient: []string{"NET_BIND_SERVICE"}, want: []string{"CAP_NET_BIND_SERVICE"}, wantAmbient: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "ambient adds to the set", uid: i64(1000), drop: []string{"ALL"}, ambient: []string{"NET_RAW"}, want: []string{"CAP_NET_RAW"}, wantAmbient: []string{"CAP_NET_RAW"}},
		{name: "ambient ALL refused", ambient: []string{"ALL"}, errKind: "invalid", errField: "add_ambient_capabilities"},
		{name: "ambient unknown", ambient: []string{"X"}, errKind: "invalid", errField: "add_ambient_capabilities[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Runtime.HostCapabilities = allHost
			in.Runtime.DefaultCapabilities = tt.defaults
			s := sc(&in)
			s.Privileged, s.RunAsUser = tt.privileged, tt.uid
			s.Capabilities = &runtimeapi.Capability{AddCapabilities: tt.add, DropCapabilities: tt.drop, AddAmbientCapabilities: tt.ambient}
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, tt.errField)
				return
			}
			checkErr(t, err, "", "")
			c := res.Spec.Process.Capabilities
			want := canonicalCaps(tt.want)
			for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
				if !slices.Equal(set, want) && !(len(set) == 0 && len(want) == 0) {
					t.Fatalf("%s %v, want %v", name, set, tt.want)
				}
			}
			if !slices.Equal(c.Ambient, tt.wantAmbient) && !(len(c.Ambient) == 0 && len(tt.wantAmbient) == 0) {
				t.Fatalf("ambient %v, want %v", c.Ambient, tt.wantAmbient)
			}
			if !slices.Equal(c.Inheritable, c.Ambient) {
				t.Fatalf("inheritable %v must equal ambient %v", c.Inheritable, c.Ambient)
			}
		})
	}
}

func without(s []string, drop string) []string {
	var out []string
	for _, x := range s {
		if x != drop {
			out = append(out, x)
		}
	}
	return out
}

// defaultCaps is procattr.DefaultCapabilities as the spec writes them.
var defaultCaps = func() []string {
	var out []string
	for _, c := range procattr.DefaultCapabilities {
		n, _ := procattr.NormalizeCapability(c)
		out = append(out, n)
	}
	return out
}()
