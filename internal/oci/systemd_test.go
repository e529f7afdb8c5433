package oci

import (
	"testing"

	"github.com/opencontainers/cgroups/systemd"
)

// The slice cases pin down the library behaviour the cgroupfs naming relies on.
func TestExpandSliceAndCgroupfsPath(t *testing.T) {
	for in, want := range map[string]string{
		"kubepods-besteffort-pod1.slice": "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice",
		"kubepods.slice":                 "/kubepods.slice",
		"-.slice":                        "/",
	} {
		if got, err := systemd.ExpandSlice(in); err != nil || got != want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"kubepods", "a--b.slice", "/x.slice"} {
		if _, err := systemd.ExpandSlice(bad); err == nil {
			t.Errorf("ExpandSlice(%q) accepted", bad)
		}
	}
	got, err := CgroupfsPath("kubepods-burstable-podx.slice:crio:abc")
	if want := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx.slice/crio-abc.scope"; err != nil || got != want {
		t.Errorf("CgroupfsPath = %q, %v; want %q", got, err, want)
	}
}
