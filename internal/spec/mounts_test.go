package spec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestDefaultMounts(t *testing.T) {
	in := baseInput()
	in.Sandbox.HostsPath = "/run/crio/pod1/hosts"
	s := build(t, in).Spec
	if s.Root.Path != in.RootfsPath || s.Root.Readonly {
		t.Fatalf("root %+v", s.Root)
	}
	want := map[string]string{
		"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/mqueue": "mqueue",
		"/sys": "sysfs", "/sys/fs/cgroup": "cgroup", "/dev/shm": "bind",
		"/etc/hostname": "bind", "/etc/hosts": "bind", "/etc/resolv.conf": "bind",
	}
	for dst, typ := range want {
		m := findMount(s, dst)
		if m == nil || m.Type != typ {
			t.Errorf("mount %s = %+v, want type %s", dst, m, typ)
		}
	}
	for _, dst := range []string{"/sys", "/sys/fs/cgroup"} {
		if !slices.Contains(findMount(s, dst).Options, "ro") {
			t.Errorf("%s not read-only", dst)
		}
	}
	if findMount(s, "/dev/shm").Source != "/run/crio/pod1/shm" {
		t.Error("shm not from the pod")
	}
	if !slices.Equal(s.Linux.MaskedPaths, sorted(DefaultMaskedPaths)) || !slices.Equal(s.Linux.ReadonlyPaths, DefaultReadonlyPaths) {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}

	// Read-only rootfs makes the pod files read-only too; no pod shm
	// gives a private tmpfs; host IPC binds the host mqueue.
	in.Sandbox.ShmPath, in.Sandbox.IPCNSPath = "", ""
	sc(&in).ReadonlyRootfs = true
	s = build(t, in).Spec
	if !s.Root.Readonly || !slices.Contains(findMount(s, "/etc/resolv.conf").Options, "ro") {
		t.Error("readonly rootfs not applied")
	}
	if m := findMount(s, "/dev/shm"); m.Type != "tmpfs" {
		t.Errorf("shm %+v", m)
	}
	// Host IPC on a host without /dev/mqueue: a fresh mqueue mount (it
	// shows the host IPC namespace's queues); with one: a bind of it.
	if m := findMount(s, "/dev/mqueue"); m.Type != "mqueue" {
		t.Errorf("mqueue with host IPC, host without /dev/mqueue %+v", m)
	}
	in.Host.(fakeHost).paths["/dev/mqueue"] = "/dev/mqueue"
	s = build(t, in).Spec
	if m := findMount(s, "/dev/mqueue"); m.Type != "bind" || m.Source != "/dev/mqueue" {
		t.Errorf("mqueue with host IPC %+v", m)
	}
}

func TestPrivilegedFilesystem(t *testing.T) {
	in := baseInput()
	sc(&in).Privileged = true
	s := build(t, in).Spec
	for _, dst := range []string{"/sys", "/sys/fs/cgroup"} {
		if o := findMount(s, dst).Options; !slices.Contains(o, "rw") || slices.Contains(o, "ro") {
			t.Errorf("%s options %v", dst, o)
		}
	}
	if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Error("privileged container has masked/readonly paths")
	}
	var paths []string
	for _, d := range s.Linux.Devices {
		paths = append(paths, d.Path)
	}
	if !slices.Equal(paths, []string{"/dev/null", "/dev/sda"}) {
		t.Errorf("devices %v", paths)
	}
	if r := s.Linux.Resources.Devices; len(r) != 1 || !r[0].Allow || r[0].Access != "rwm" {
		t.Errorf("device cgroup %+v", r)
	}
	in.Runtime.PrivilegedWithoutHostDevices = true
	if s := build(t, in).Spec; len(s.Linux.Devices) != 0 {
		t.Errorf("host devices despite privileged_without_host_devices: %v", s.Linux.Devices)
	}
}

func TestMaskedPathOverrides(t *testing.T) {
	in := baseInput()
	sc(&in).MaskedPaths = []string{"/proc/kcore", "/opt/secret"}
	sc(&in).ReadonlyPaths = []string{"/proc/sys"}
	s := build(t, in).Spec
	// Requested masked paths add to the defaults (CRI-O); read-only ones replace them.
	if !slices.Equal(s.Linux.MaskedPaths, sorted(append([]string{"/opt/secret"}, DefaultMaskedPaths...))) || !slices.Equal(s.Linux.ReadonlyPaths, []string{"/proc/sys"}) {
		t.Fatalf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	in.Runtime.MaskedPaths = []string{"/proc/keys"}
	if s := build(t, in).Spec; !slices.Equal(s.Linux.MaskedPaths, []string{"/opt/secret", "/proc/kcore", "/proc/keys"}) {
		t.Fatalf("masked with configured defaults %v", s.Linux.MaskedPaths)
	}
	// Unmasked procMount: the lists arrive empty and the runtime config applies.
	sc(&in).MaskedPaths, sc(&in).ReadonlyPaths = nil, nil
	in.Runtime.MaskedPaths, in.Runtime.ReadonlyPaths = []string{}, []string{"/proc/bus"}
	s = build(t, in).Spec
	if len(s.Linux.MaskedPaths) != 0 || !slices.Equal(s.Linux.ReadonlyPaths, []string{"/proc/bus"}) {
		t.Fatalf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	sc(&in).MaskedPaths = []string{"proc/kcore"}
	_, err := Build(in)
	checkErr(t, err, "invalid", "masked_paths[0]")
}

func TestCRIMounts(t *testing.T) {
	mnt := func(dst, src string) *runtimeapi.Mount {
		return &runtimeapi.Mount{ContainerPath: dst, HostPath: src}
	}
	tests := []struct {
		name     string
		mounts   []*runtimeapi.Mount
		rro      bool
		wantSrc  string
		wantOpts []string
		rootProp string
		prop     []PropagationNeed
		errKind  string
		errField string
	}{
		{name: "rw private", mounts: []*runtimeapi.Mount{mnt("/data", "/data")}, wantSrc: "/data", wantOpts: []string{"rbind", "rw", "rprivate"}},
		{name: "termination log", mounts: []*runtimeapi.Mount{mnt("/dev/termination-log", "/var/lib/kubelet/pods/uid/containers/c/0")}, wantSrc: "/var/lib/kubelet/pods/uid/containers/c/0", wantOpts: []string{"rbind", "rw", "rprivate"}},
		{name: "readonly", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Readonly: true}}, wantSrc: "/data", wantOpts: []string{"rbind", "ro", "rprivate"}},
		{name: "symlink resolved", mounts: []*runtimeapi.Mount{mnt("/data", "/link")}, wantSrc: "/real/target", wantOpts: []string{"rbind", "rw", "rprivate"}},
		{name: "mount options", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", MountOptions: []string{"noexec", "nosuid"}}}, wantSrc: "/data", wantOpts: []string{"rbind", "rw", "rprivate", "noexec", "nosuid"}},
		{name: "bad mount option", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", MountOptions: []string{"uid=0"}}}, errKind: "invalid", errField: "mounts[0].mount_options[0]"},
		{
			name: "host to container", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}},
			wantSrc: "/data", wantOpts: []string{"rbind", "rw", "rslave"}, rootProp: "rslave", prop: []PropagationNeed{{"/data", PropagationSlave}},
		},
		{
			name: "bidirectional", mounts: []*runtimeapi.Mount{
				{ContainerPath: "/data", HostPath: "/data", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
				{ContainerPath: "/pods", HostPath: "/var/lib/kubelet/pods", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
			},
			wantSrc: "/data", wantOpts: []string{"rbind", "rw", "rshared"}, rootProp: "rshared",
			prop: []PropagationNeed{{"/data", PropagationShared}, {"/var/lib/kubelet/pods", PropagationSlave}},
		},
		{name: "propagation on missing host path", mounts: []*runtimeapi.Mount{{ContainerPath: "/x", HostPath: "/missing", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}},
			wantSrc: "/missing", wantOpts: []string{"rbind", "rw", "rshared"}, rootProp: "rshared", prop: []PropagationNeed{{"/missing", PropagationShared}}},
		{name: "unknown propagation", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Propagation: 7}}, errKind: "invalid", errField: "mounts[0].propagation"},
		{name: "rro", rro: true, mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Readonly: true, RecursiveReadOnly: true}}, wantSrc: "/data", wantOpts: []string{"rbind", "ro", "rro", "rprivate"}},
		{name: "rro without readonly", rro: true, mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", RecursiveReadOnly: true}}, errKind: "invalid", errField: "recursive_read_only"},
		{name: "rro with propagation", rro: true, mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Readonly: true, RecursiveReadOnly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}}, errKind: "invalid", errField: "recursive_read_only"},
		{name: "rro unsupported", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Readonly: true, RecursiveReadOnly: true}}, errKind: "precondition", errField: "recursive_read_only"},
		{name: "relative container path", mounts: []*runtimeapi.Mount{mnt("data", "/data")}, errKind: "invalid", errField: "mounts[0].container_path"},
		{name: "mount over /proc", mounts: []*runtimeapi.Mount{mnt("/proc", "/data")}, errKind: "invalid", errField: "mounts[0].container_path"},
		{name: "mount under /proc", mounts: []*runtimeapi.Mount{mnt("/data", "/data"), mnt("/proc/../proc/sys", "/data")}, errKind: "invalid", errField: "mounts[1].container_path"},
		{name: "lxcfs over /proc/meminfo", mounts: []*runtimeapi.Mount{mnt("/proc/meminfo", "/data")}, wantSrc: "/data", wantOpts: []string{"rbind", "rw", "rprivate"}},
		{name: "mount under /proc/sys", mounts: []*runtimeapi.Mount{mnt("/proc/sys/kernel", "/data")}, errKind: "invalid", errField: "mounts[0].container_path"},
		{name: "mount over root", mounts: []*runtimeapi.Mount{mnt("/", "/data")}, errKind: "invalid", errField: "mounts[0].container_path"},
		{name: "duplicate destination", mounts: []*runtimeapi.Mount{mnt("/data", "/data"), mnt("/data/", "/data")}, errKind: "invalid", errField: "mounts[1].container_path"},
		{name: "relative host path", mounts: []*runtimeapi.Mount{mnt("/data", "data")}, errKind: "invalid", errField: "mounts[0].host_path"},
		{name: "missing host path is created", mounts: []*runtimeapi.Mount{mnt("/data", "/nowhere/")}, wantSrc: "/nowhere", wantOpts: []string{"rbind", "rw", "rprivate"}},
		{name: "id mapped", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", UidMappings: []*runtimeapi.IDMapping{{Length: 1}}}}, errKind: "precondition", errField: "mounts[0]"},
		{name: "image mount", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img1"}}}, wantSrc: "/images/img1", wantOpts: []string{"rbind", "ro", "rprivate"}},
		{name: "image mount sub path", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img1"}, ImageSubPath: "sub"}}, wantSrc: "/images/img1/sub", wantOpts: []string{"rbind", "ro", "rprivate"}},
		{name: "image sub path missing", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img1"}, ImageSubPath: "nope"}}, errKind: "invalid", errField: "image_sub_path"},
		{name: "image sub path escapes", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img1"}, ImageSubPath: "escape"}}, errKind: "invalid", errField: "image_sub_path"},
		{name: "image sub path dotdot", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img1"}, ImageSubPath: "../x"}}, errKind: "invalid", errField: "image_sub_path"},
		{name: "image not mounted", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img2"}}}, errKind: "precondition", errField: "mounts[0].image"},
		{name: "image mount with host path", mounts: []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "img1"}}}, errKind: "invalid", errField: "mounts[0].host_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Config.Mounts = tt.mounts
			in.Runtime.RecursiveReadOnly = tt.rro
			in.ImageMounts = map[string]string{"img1": "/images/img1"}
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, tt.errField)
				return
			}
			checkErr(t, err, "", "")
			m := findMount(res.Spec, tt.mounts[0].ContainerPath)
			if m == nil || m.Source != tt.wantSrc || m.Type != "bind" || !slices.Equal(m.Options, tt.wantOpts) {
				t.Fatalf("mount %+v, want source %s options %v", m, tt.wantSrc, tt.wantOpts)
			}
			if res.Spec.Linux.RootfsPropagation != tt.rootProp {
				t.Fatalf("root propagation %q, want %q", res.Spec.Linux.RootfsPropagation, tt.rootProp)
			}
			if !slices.Equal(res.Propagation, tt.prop) {
				t.Fatalf("propagation needs %v, want %v", res.Propagation, tt.prop)
			}
		})
	}
}

func TestMountOrderAndOverrides(t *testing.T) {
	in := baseInput()
	in.Image.Volumes = []string{"/data/cache"}
	in.Config.Mounts = []*runtimeapi.Mount{
		{ContainerPath: "/data/sub/deeper", HostPath: "/data"},
		{ContainerPath: "/etc/resolv.conf", HostPath: "/data"},
		{ContainerPath: "/data", HostPath: "/data"},
	}
	s := build(t, in).Spec
	var order []string
	for _, m := range s.Mounts {
		order = append(order, m.Destination)
	}
	iData, iDeep := slices.Index(order, "/data"), slices.Index(order, "/data/sub/deeper")
	if iData < 0 || iDeep < iData {
		t.Fatalf("parent after child: %v", order)
	}
	if n := len(slices.DeleteFunc(slices.Clone(order), func(d string) bool { return d != "/etc/resolv.conf" })); n != 1 {
		t.Fatalf("resolv.conf mounted %d times: %v", n, order)
	}
	if findMount(s, "/etc/resolv.conf").Source != "/data" {
		t.Fatal("CRI mount does not override the pod's resolv.conf")
	}
}

func TestImageVolumes(t *testing.T) {
	tests := []struct {
		mode     string
		bindDir  string
		wantDirs []string
		wantMnt  *specs.Mount
		errKind  string
	}{
		{mode: "", wantDirs: []string{"/rootfs/var/lib/db", "/rootfs/cache"}},
		{mode: ImageVolumesMkdir, wantDirs: []string{"/rootfs/var/lib/db", "/rootfs/cache"}},
		{mode: ImageVolumesIgnore},
		{
			mode: ImageVolumesBind, bindDir: "/run/c/vols", wantDirs: []string{"/run/c/vols/var/lib/db", "/run/c/vols/cache"},
			wantMnt: &specs.Mount{Destination: "/var/lib/db", Type: "bind", Source: "/run/c/vols/var/lib/db", Options: []string{"rbind", "rw", "rprivate"}},
		},
		{mode: ImageVolumesBind, errKind: "precondition"},
		{mode: "copy", errKind: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			in := baseInput()
			in.RootfsPath = "/rootfs"
			in.Image.Volumes = []string{"/var/lib/db/", "/cache", "/data"}
			in.Config.Mounts = []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/data"}}
			in.Runtime.ImageVolumes, in.VolumeBindDir = tt.mode, tt.bindDir
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, "image_volumes")
				return
			}
			checkErr(t, err, "", "")
			if !slices.Equal(res.VolumeDirs, tt.wantDirs) {
				t.Fatalf("dirs %v, want %v", res.VolumeDirs, tt.wantDirs)
			}
			m := findMount(res.Spec, "/var/lib/db")
			if (m == nil) != (tt.wantMnt == nil) || m != nil && (m.Source != tt.wantMnt.Source || !slices.Equal(m.Options, tt.wantMnt.Options)) {
				t.Fatalf("volume mount %+v, want %+v", m, tt.wantMnt)
			}
		})
	}
	// Volumes as images built elsewhere list them run, placed under the root.
	in := baseInput()
	in.RootfsPath = "/rootfs"
	in.Image.Volumes = []string{"C:/dir", ":colon_prefixed", "relative/../x"}
	res, err := Build(in)
	checkErr(t, err, "", "")
	if want := []string{"/rootfs/C:/dir", "/rootfs/:colon_prefixed", "/rootfs/x"}; !slices.Equal(res.VolumeDirs, want) {
		t.Fatalf("dirs %v, want %v", res.VolumeDirs, want)
	}
	if len(res.Warnings) != 3 {
		t.Fatalf("warnings %q, want one per odd volume", res.Warnings)
	}
}

func TestDevices(t *testing.T) {
	tests := []struct {
		name     string
		devices  []*runtimeapi.Device
		want     []specs.LinuxDevice
		access   []string
		errKind  string
		errField string
	}{
		{
			name:    "single device, default permissions",
			devices: []*runtimeapi.Device{{ContainerPath: "/dev/fuse", HostPath: "/dev/fuse"}},
			want:    []specs.LinuxDevice{dev("/dev/fuse", "c", 10, 229)}, access: []string{"rwm"},
		},
		{
			name:    "renamed with permissions",
			devices: []*runtimeapi.Device{{ContainerPath: "/dev/myfuse", HostPath: "/dev/fuse", Permissions: "r"}},
			want:    []specs.LinuxDevice{dev("/dev/myfuse", "c", 10, 229)}, access: []string{"r"},
		},
		{
			name:    "directory of devices",
			devices: []*runtimeapi.Device{{ContainerPath: "/dev/sound", HostPath: "/dev/snd", Permissions: "rw"}},
			want:    []specs.LinuxDevice{dev("/dev/sound/controlC0", "c", 116, 0), dev("/dev/sound/timer", "c", 116, 33)},
			access:  []string{"rw", "rw"},
		},
		{name: "bad permissions", devices: []*runtimeapi.Device{{ContainerPath: "/dev/fuse", HostPath: "/dev/fuse", Permissions: "rwx"}}, errKind: "invalid", errField: "devices[0].permissions"},
		{name: "repeated permission", devices: []*runtimeapi.Device{{ContainerPath: "/dev/fuse", HostPath: "/dev/fuse", Permissions: "rr"}}, errKind: "invalid", errField: "devices[0].permissions"},
		{name: "missing host device", devices: []*runtimeapi.Device{{ContainerPath: "/dev/x", HostPath: "/dev/nope"}}, errKind: "invalid", errField: "devices[0].host_path"},
		{name: "relative container path", devices: []*runtimeapi.Device{{ContainerPath: "dev/fuse", HostPath: "/dev/fuse"}}, errKind: "invalid", errField: "devices[0].container_path"},
		{name: "relative host path", devices: []*runtimeapi.Device{{ContainerPath: "/dev/fuse", HostPath: "fuse"}}, errKind: "invalid", errField: "devices[0].host_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Config.Devices = tt.devices
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, tt.errField)
				return
			}
			checkErr(t, err, "", "")
			l := res.Spec.Linux
			if !slices.EqualFunc(l.Devices, tt.want, func(a, b specs.LinuxDevice) bool {
				return a.Path == b.Path && a.Type == b.Type && a.Major == b.Major && a.Minor == b.Minor
			}) {
				t.Fatalf("devices %+v", l.Devices)
			}
			rules := l.Resources.Devices
			if len(rules) != 1+len(tt.want) || rules[0].Allow || rules[0].Access != "rwm" {
				t.Fatalf("device cgroup %+v: want deny-all first", rules)
			}
			for i, r := range rules[1:] {
				if !r.Allow || *r.Major != tt.want[i].Major || *r.Minor != tt.want[i].Minor || r.Access != tt.access[i] {
					t.Fatalf("rule %d %+v", i, r)
				}
			}
		})
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestContainerEnvMount(t *testing.T) {
	in := baseInput()
	if m := findMount(build(t, in).Spec, "/run/.containerenv"); m != nil {
		t.Fatalf("containerenv without a path: %+v", m)
	}
	in.ContainerEnvPath = "/run/crio/ctr1/containerenv"
	m := findMount(build(t, in).Spec, "/run/.containerenv")
	if m == nil || m.Type != "bind" || m.Source != in.ContainerEnvPath || slices.Contains(m.Options, "ro") {
		t.Fatalf("containerenv %+v", m)
	}
	sc(&in).ReadonlyRootfs = true
	if m := findMount(build(t, in).Spec, "/run/.containerenv"); !slices.Contains(m.Options, "ro") {
		t.Errorf("containerenv with read-only root %+v", m)
	}
	// A CRI mount at the same place wins.
	in.Config.Mounts = []*runtimeapi.Mount{{ContainerPath: "/run/.containerenv", HostPath: "/data"}}
	if m := findMount(build(t, in).Spec, "/run/.containerenv"); m.Source != "/data" {
		t.Errorf("CRI mount replaced %+v", m)
	}
}
