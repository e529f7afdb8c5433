package annotations

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crio-runtime/crio/pkg/config"
)

func u32(v uint32) *uint32 { return &v }

func TestResolveAllowedAndNameForms(t *testing.T) {
	all := []string{Umask, UmaskV1, Devices, DevicesV1, ShmSize, ShmSizeV1, UnifiedCgroup, UnifiedCgroupV1,
		SeccompProfile, SeccompProfileV1, LinkLogs, LinkLogsV1, CPUQuota, CPULoadBalancing, CPUShared,
		PodLinuxOverhead, PodLinuxResourcesV1, Cgroup2MountHierarchyRW}
	tests := []struct {
		name    string
		allowed []string
		pod     map[string]string
		ctr     map[string]string
		check   func(t *testing.T, e *Effect)
	}{
		{"not allowed is ignored", nil, map[string]string{Umask: "077", Devices: "/dev/fuse", ShmSize: "1Gi"}, nil, func(t *testing.T, e *Effect) {
			if e.Umask != nil || e.Devices != nil || e.ShmSize != 0 {
				t.Errorf("disallowed annotations took effect: %+v", e)
			}
		}},
		{"not allowed even if malformed", nil, map[string]string{Umask: "999"}, nil, func(t *testing.T, e *Effect) {
			if e.Umask != nil {
				t.Error("umask set")
			}
		}},
		{"current name", []string{Umask}, map[string]string{Umask: "077"}, nil, func(t *testing.T, e *Effect) {
			if !reflect.DeepEqual(e.Umask, u32(0o77)) {
				t.Errorf("umask %v", e.Umask)
			}
		}},
		{"older name", []string{UmaskV1}, map[string]string{UmaskV1: "0027"}, nil, func(t *testing.T, e *Effect) {
			if !reflect.DeepEqual(e.Umask, u32(0o27)) {
				t.Errorf("umask %v", e.Umask)
			}
		}},
		{"allowing the current name does not allow the older", []string{Umask}, map[string]string{UmaskV1: "0027"}, nil, func(t *testing.T, e *Effect) {
			if e.Umask != nil {
				t.Errorf("umask %v", *e.Umask)
			}
		}},
		{"current name wins over older", all, map[string]string{Umask: "077", UmaskV1: "022"}, nil, func(t *testing.T, e *Effect) {
			if *e.Umask != 0o77 {
				t.Errorf("umask %o", *e.Umask)
			}
		}},
		{"container annotation wins over pod", all, map[string]string{Umask: "077"}, map[string]string{Umask: "002"}, func(t *testing.T, e *Effect) {
			if *e.Umask != 0o2 {
				t.Errorf("umask %o", *e.Umask)
			}
		}},
		{"devices both forms", []string{DevicesV1}, map[string]string{DevicesV1: "/dev/fuse:/dev/myfuse:rw,/dev/net/tun:r"}, nil, func(t *testing.T, e *Effect) {
			want := []Device{{"/dev/fuse", "/dev/myfuse", "rw"}, {"/dev/net/tun", "/dev/net/tun", "r"}}
			if !reflect.DeepEqual(e.Devices, want) {
				t.Errorf("devices %+v", e.Devices)
			}
		}},
		{"shm size", []string{ShmSizeV1}, map[string]string{ShmSizeV1: "128Mi"}, nil, func(t *testing.T, e *Effect) {
			if e.ShmSize != 128<<20 {
				t.Errorf("shm %d", e.ShmSize)
			}
		}},
		{"unified per container, both forms", all, map[string]string{
			UnifiedCgroup + "/app":     "memory.max=max;cpu.weight=" + "MTAw", // base64 "100"
			UnifiedCgroup + "/other":   "memory.max=1",
			UnifiedCgroupV1 + "/app":   "memory.high=5",
			UnifiedCgroupV1 + ".other": "x=y",
		}, nil, func(t *testing.T, e *Effect) {
			if !reflect.DeepEqual(e.Unified, map[string]string{"memory.max": "max", "cpu.weight": "100"}) {
				t.Errorf("unified %v", e.Unified)
			}
		}},
		{"unified older dotted form", []string{UnifiedCgroupV1}, map[string]string{UnifiedCgroupV1 + ".app": "pids.max=10"}, nil, func(t *testing.T, e *Effect) {
			if e.Unified["pids.max"] != "10" {
				t.Errorf("unified %v", e.Unified)
			}
		}},
		{"seccomp per container beats pod", all, map[string]string{
			SeccompProfile + "/POD": "quay.io/pod:1", SeccompProfileV1 + "/app": "quay.io/app:1",
		}, nil, func(t *testing.T, e *Effect) {
			if e.SeccompProfileRef != "quay.io/app:1" || e.SeccompProfileKey != SeccompProfileV1+"/app" {
				t.Errorf("seccomp %q from %q", e.SeccompProfileRef, e.SeccompProfileKey)
			}
		}},
		{"seccomp pod wide", all, map[string]string{SeccompProfile + "/POD": "quay.io/pod:1", SeccompProfile + "/x": "no"}, nil, func(t *testing.T, e *Effect) {
			if e.SeccompProfileRef != "quay.io/pod:1" {
				t.Errorf("seccomp %q", e.SeccompProfileRef)
			}
		}},
		{"cpu annotations, container form wins", all, map[string]string{
			CPUQuota: "enable", CPUQuota + "/app": "disable", CPULoadBalancing: "true", CPUShared + "/app": "enable",
		}, nil, func(t *testing.T, e *Effect) {
			if !e.CPUQuotaDisabled || !e.CPULoadBalancingDisabled || !e.CPUShared {
				t.Errorf("cpu %+v", e)
			}
			want := []string{CPULoadBalancing, CPUShared + "/app"}
			if !reflect.DeepEqual(e.NotApplied, want) {
				t.Errorf("not applied %v, want %v", e.NotApplied, want)
			}
		}},
		{"pod level", all, map[string]string{
			LinkLogsV1: "logvol", PodLinuxOverhead: `{"cpu_shares":10}`, PodLinuxResourcesV1: `{"memory_limit_in_bytes":1048576}`,
		}, nil, func(t *testing.T, e *Effect) {
			if e.LinkLogs != "logvol" || e.PodLinuxOverhead.GetCpuShares() != 10 || e.PodLinuxResources.GetMemoryLimitInBytes() != 1<<20 {
				t.Errorf("pod %+v", e)
			}
		}},
		{"disallowed container annotations are dropped", []string{"run.oci."}, nil, map[string]string{
			"run.oci.keep_original_groups": "1", "org.systemd.property.CPUQuota": "1", "my.own/key": "v", Umask: "077",
		}, func(t *testing.T, e *Effect) {
			want := []string{"org.systemd.property.CPUQuota", Umask}
			if !reflect.DeepEqual(e.Dropped, want) {
				t.Errorf("dropped %v, want %v", e.Dropped, want)
			}
		}},
		{"cgroup rw", all, map[string]string{Cgroup2MountHierarchyRW: "true"}, nil, func(t *testing.T, e *Effect) {
			if !e.CgroupWritable {
				t.Error("cgroup not writable")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Resolve(Input{
				HandlerAllowed: tc.allowed, PodAnnotations: tc.pod, ContainerAnnotations: tc.ctr,
				ContainerName: "app", CgroupV2: true, AllowedDevices: []string{"/dev/fuse", "/dev/net/tun"},
			})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
}

func TestResolveMalformed(t *testing.T) {
	all := Known()
	tests := []struct {
		name    string
		pod     map[string]string
		v1      bool // no cgroup v2
		wantKey string
	}{
		{"umask not octal", map[string]string{Umask: "089"}, false, Umask},
		{"umask too long", map[string]string{UmaskV1: "00777"}, false, UmaskV1},
		{"device not allowed", map[string]string{Devices: "/dev/sda"}, false, Devices},
		{"device bad perms", map[string]string{DevicesV1: "/dev/fuse:/dev/fuse:rwx"}, false, DevicesV1},
		{"device outside /dev", map[string]string{Devices: "/dev/fuse:/etc/fuse"}, false, Devices},
		{"device relative", map[string]string{Devices: "dev/fuse"}, false, Devices},
		{"device too many parts", map[string]string{Devices: "/dev/fuse:/dev/a:r:w"}, false, Devices},
		{"shm not a quantity", map[string]string{ShmSize: "lots"}, false, ShmSize},
		{"shm negative", map[string]string{ShmSizeV1: "-1Mi"}, false, ShmSizeV1},
		{"shm zero", map[string]string{ShmSize: "0"}, false, ShmSize},
		{"unified no equals", map[string]string{UnifiedCgroup + "/app": "memory.max"}, false, UnifiedCgroup + "/app"},
		{"unified path key", map[string]string{UnifiedCgroupV1 + "/app": "../x=1"}, false, UnifiedCgroupV1 + "/app"},
		{"unified on cgroup v1", map[string]string{UnifiedCgroup + "/app": "memory.max=max"}, true, UnifiedCgroup + "/app"},
		{"cpu quota value", map[string]string{CPUQuota: "off"}, false, CPUQuota},
		{"cpu shared value", map[string]string{CPUShared + "/app": "yes"}, false, CPUShared + "/app"},
		{"link logs path", map[string]string{LinkLogs: "../x"}, false, LinkLogs},
		{"pod resources json", map[string]string{PodLinuxResources: "{"}, false, PodLinuxResources},
		{"cgroup rw not bool", map[string]string{Cgroup2MountHierarchyRWV1: "maybe"}, false, Cgroup2MountHierarchyRWV1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(Input{HandlerAllowed: all, PodAnnotations: tc.pod, ContainerName: "app",
				CgroupV2: !tc.v1, AllowedDevices: []string{"/dev/fuse"}})
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if ae.Annotation != tc.wantKey || !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error names %q (%v), want %q", ae.Annotation, err, tc.wantKey)
			}
		})
	}
}

func TestResolvePodOnly(t *testing.T) {
	e, err := Resolve(Input{HandlerAllowed: Known(), PodAnnotations: map[string]string{
		ShmSize: "64Mi", Umask: "bad", UnifiedCgroup + "/app": "bad",
	}})
	if err != nil {
		t.Fatalf("container-level annotations must not be parsed for a pod: %v", err)
	}
	if e.ShmSize != 64<<20 || e.Umask != nil {
		t.Errorf("%+v", e)
	}
}

func TestResolveWorkloads(t *testing.T) {
	const act, prefix = "target.workload.openshift.io/management", "resources.workload.openshift.io"
	wls := map[string]*config.Workload{
		"management": {
			ActivationAnnotation: act, AnnotationPrefix: prefix, AllowedAnnotations: []string{Umask},
			Resources: &config.WorkloadResources{CPUShares: 2, CPUSet: "0-1"},
		},
		"plain": {ActivationAnnotation: "plain.example.com/on", AllowedAnnotations: []string{ShmSize}},
	}
	tests := []struct {
		name    string
		pod     map[string]string
		want    *Resources
		umask   bool
		wl      string
		wantErr string
	}{
		{"not activated", map[string]string{Umask: "077", prefix + "/app": `{"cpushares": 512}`}, nil, false, "", ""},
		{"activated, defaults", map[string]string{act: "", Umask: "077"}, &Resources{CPUShares: 2, CPUSet: "0-1"}, true, "management", ""},
		{"override merges over defaults", map[string]string{act: `{"effect":"PreferredDuringScheduling"}`, prefix + "/app": `{"cpushares": 512, "cpulimit": 500}`},
			&Resources{CPUShares: 512, CPUSet: "0-1", CPULimit: 500, CPUQuota: 50000}, false, "management", ""},
		{"override for another container", map[string]string{act: "", prefix + "/other": `{"cpushares": 512}`},
			&Resources{CPUShares: 2, CPUSet: "0-1"}, false, "management", ""},
		{"cpulimit floor and period", map[string]string{act: "", prefix + "/app": `{"cpulimit": 1, "cpuperiod": 50000, "cpuset": "3"}`},
			&Resources{CPUShares: 2, CPUSet: "3", CPULimit: 1, CPUPeriod: 50000, CPUQuota: 1000}, false, "management", ""},
		{"explicit null", map[string]string{act: "", prefix + "/app": "null"}, nil, false, "management", ""},
		{"malformed json", map[string]string{act: "", prefix + "/app": `{"cpushares": "lots"}`}, nil, false, "", prefix + "/app"},
		{"malformed cpuset", map[string]string{act: "", prefix + "/app": `{"cpuset": "3-1"}`}, nil, false, "", prefix + "/app"},
		{"short period", map[string]string{act: "", prefix + "/app": `{"cpuperiod": 10}`}, nil, false, "", prefix + "/app"},
		{"other workload allows only its own", map[string]string{"plain.example.com/on": "", Umask: "077", ShmSize: "1Mi"}, nil, false, "plain", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Resolve(Input{Workloads: wls, PodAnnotations: tc.pod, ContainerName: "app"})
			if tc.wantErr != "" {
				var ae *Error
				if !errors.As(err, &ae) || ae.Annotation != tc.wantErr {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.WorkloadResources, tc.want) {
				t.Errorf("resources %+v, want %+v", e.WorkloadResources, tc.want)
			}
			if (e.Umask != nil) != tc.umask || e.Workload != tc.wl {
				t.Errorf("umask %v workload %q", e.Umask, e.Workload)
			}
			if tc.wl == "plain" && e.ShmSize != 1<<20 {
				t.Errorf("workload allowed shm-size not applied: %d", e.ShmSize)
			}
		})
	}
}

func TestFilterPrefixes(t *testing.T) {
	kept, dropped := Filter([]string{UnifiedCgroup, "run.oci."}, map[string]string{
		UnifiedCgroup + "/a": "x", UnifiedCgroupV1 + "/a": "x", "run.oci.x": "1", "bundle": "b", "unrelated": "u",
	})
	if !reflect.DeepEqual(dropped, []string{"bundle", UnifiedCgroupV1 + "/a"}) {
		t.Errorf("dropped %v", dropped)
	}
	if len(kept) != 3 || kept["unrelated"] != "u" || kept["run.oci.x"] != "1" {
		t.Errorf("kept %v", kept)
	}
}
