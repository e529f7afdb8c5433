package spec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestAbsentMountSources(t *testing.T) {
	tests := []struct {
		name, hostPath string
		reject         []string
		wantDirs       []string
		errKind        string
	}{
		{name: "existing path is not created", hostPath: "/data", reject: []string{"/data"}},
		{name: "absent path is created", hostPath: "/new/dir", wantDirs: []string{"/new/dir"}},
		{name: "absent path listed is refused", hostPath: "/etc/hostname", reject: []string{"/etc/hostname"}, errKind: "invalid"},
		{name: "listed path compared clean", hostPath: "/etc//hostname", reject: []string{"/etc/hostname/"}, errKind: "invalid"},
		{name: "other listed path", hostPath: "/new/dir", reject: []string{"/etc/hostname"}, wantDirs: []string{"/new/dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Host = newHost()
			in.Runtime.AbsentMountSourcesToReject = tt.reject
			in.Config.Mounts = []*runtimeapi.Mount{{ContainerPath: "/m", HostPath: tt.hostPath}}
			res, err := Build(in)
			checkErr(t, err, tt.errKind, "mounts[0].host_path")
			if err == nil && !slices.Equal(res.MountSourceDirs, tt.wantDirs) {
				t.Fatalf("dirs %v, want %v", res.MountSourceDirs, tt.wantDirs)
			}
		})
	}
}

func TestAdditionalDevices(t *testing.T) {
	tests := []struct {
		name       string
		privileged bool
		add        []DeviceMapping
		cri        []*runtimeapi.Device
		want       map[string]int64 // container path -> minor
		allow      string           // cgroup access of /dev/fuse, "" = no rule
		errKind    string
	}{
		{name: "same path", add: []DeviceMapping{{HostPath: "/dev/fuse"}}, want: map[string]int64{"/dev/fuse": 229}, allow: "rwm"},
		{name: "renamed with perms", add: []DeviceMapping{{HostPath: "/dev/fuse", ContainerPath: "/dev/myfuse", Permissions: "r"}}, want: map[string]int64{"/dev/myfuse": 229}, allow: "r"},
		{name: "directory", add: []DeviceMapping{{HostPath: "/dev/snd", ContainerPath: "/dev/snd"}}, want: map[string]int64{"/dev/snd/controlC0": 0, "/dev/snd/timer": 33}},
		{name: "with CRI devices", add: []DeviceMapping{{HostPath: "/dev/fuse", ContainerPath: "/dev/x"}}, cri: []*runtimeapi.Device{{HostPath: "/dev/snd", ContainerPath: "/dev/x"}}, want: map[string]int64{"/dev/x/timer": 33}, allow: "rwm"},
		{name: "privileged too", privileged: true, add: []DeviceMapping{{HostPath: "/dev/fuse", ContainerPath: "/dev/f2"}}, want: map[string]int64{"/dev/f2": 229, "/dev/null": 3}},
		{name: "absent on host", add: []DeviceMapping{{HostPath: "/dev/nothere"}}, errKind: "precondition"},
		{name: "bad permissions", add: []DeviceMapping{{HostPath: "/dev/fuse", Permissions: "rx"}}, errKind: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Host = newHost()
			in.Runtime.AdditionalDevices = tt.add
			in.Config.Devices = tt.cri
			sc(&in).Privileged = tt.privileged
			res, err := Build(in)
			checkErr(t, err, tt.errKind, "additional_devices[0]")
			if err != nil {
				return
			}
			got := map[string]specs.LinuxDevice{}
			for _, d := range res.Spec.Linux.Devices {
				got[d.Path] = d
			}
			for p, minor := range tt.want {
				if d, ok := got[p]; !ok || d.Minor != minor {
					t.Errorf("device %s: %+v, want minor %d (all %v)", p, d, minor, res.Spec.Linux.Devices)
				}
			}
			if tt.allow == "" {
				return
			}
			found := false
			for _, r := range res.Spec.Linux.Resources.Devices {
				if r.Allow && r.Minor != nil && *r.Minor == 229 && r.Access == tt.allow {
					found = true
				}
			}
			if !found {
				t.Errorf("no cgroup rule %q for /dev/fuse in %+v", tt.allow, res.Spec.Linux.Resources.Devices)
			}
		})
	}
}

func TestNodeMounts(t *testing.T) {
	in := baseInput()
	in.Host = newHost()
	in.NodeMounts = []specs.Mount{
		{Destination: "/run/secrets", Type: "bind", Source: "/run/c/secrets", Options: []string{"bind", "rprivate"}},
		{Destination: "/etc/localtime", Type: "bind", Source: "/run/c/localtime", Options: []string{"bind", "ro"}},
	}
	in.Config.Mounts = []*runtimeapi.Mount{{ContainerPath: "/run/secrets", HostPath: "/data"}}
	s := build(t, in).Spec
	if m := findMount(s, "/etc/localtime"); m == nil || m.Source != "/run/c/localtime" {
		t.Errorf("localtime mount %+v", m)
	}
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == "/run/secrets" {
			n++
			if m.Source != "/data" {
				t.Errorf("CRI mount should win: %+v", m)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d mounts at /run/secrets", n)
	}
}
