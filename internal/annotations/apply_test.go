package annotations

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/pkg/config"
)

func fakeDevices(p string) ([]specs.LinuxDevice, error) {
	mode := fs.FileMode(0o666)
	switch p {
	case "/dev/fuse":
		return []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode}}, nil
	case "/dev/snd":
		return []specs.LinuxDevice{{Path: "/dev/snd/a", Type: "c", Major: 116, Minor: 1}, {Path: "/dev/snd/b", Type: "c", Major: 116, Minor: 2}}, nil
	}
	return nil, fs.ErrNotExist
}

func baseSpec() *specs.Spec {
	return &specs.Spec{
		Process:     &specs.Process{},
		Annotations: map[string]string{"run.oci.x": "1", "keep": "k"},
		Mounts:      []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup", Options: []string{"nosuid", "ro"}}},
		Linux:       &specs.Linux{Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-7"}}},
	}
}

func TestApplyToSpec(t *testing.T) {
	s := baseSpec()
	eff := &Effect{
		Dropped:           []string{"run.oci.x"},
		Devices:           []Device{{"/dev/fuse", "/dev/myfuse", "rw"}, {"/dev/snd", "/dev/sound", "r"}},
		Umask:             u32(0o77),
		Unified:           map[string]string{"memory.max": "max"},
		WorkloadResources: &Resources{CPUShares: 512, CPUQuota: 50000, CPUSet: "2"},
		CPUQuotaDisabled:  true,
		CgroupWritable:    true,
	}
	if err := ApplyToSpec(s, eff, fakeDevices); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Annotations["run.oci.x"]; ok || s.Annotations["keep"] != "k" {
		t.Errorf("annotations %v", s.Annotations)
	}
	var paths []string
	for _, d := range s.Linux.Devices {
		paths = append(paths, d.Path)
	}
	if !reflect.DeepEqual(paths, []string{"/dev/myfuse", "/dev/sound/a", "/dev/sound/b"}) {
		t.Errorf("devices %v", paths)
	}
	if rules := s.Linux.Resources.Devices; len(rules) != 3 || rules[0].Access != "rw" || *rules[0].Major != 10 || !rules[0].Allow || rules[2].Access != "r" {
		t.Errorf("device rules %+v", rules)
	}
	if s.Process.User.Umask == nil || *s.Process.User.Umask != 0o77 {
		t.Errorf("umask %v", s.Process.User.Umask)
	}
	if s.Linux.Resources.Unified["memory.max"] != "max" {
		t.Errorf("unified %v", s.Linux.Resources.Unified)
	}
	c := s.Linux.Resources.CPU
	if *c.Shares != 512 || *c.Quota != -1 || c.Cpus != "2" || c.Period != nil {
		t.Errorf("cpu %+v", c)
	}
	if o := s.Mounts[0].Options; slices.Contains(o, "ro") || !slices.Contains(o, "rw") {
		t.Errorf("cgroup mount %v", o)
	}
}

func TestApplyToSpecEmptyEffectChangesNothing(t *testing.T) {
	s := baseSpec()
	if err := ApplyToSpec(s, &Effect{}, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, baseSpec()) {
		t.Errorf("spec changed: %+v", s)
	}
}

func TestApplyToSpecMissingDevice(t *testing.T) {
	err := ApplyToSpec(baseSpec(), &Effect{Devices: []Device{{"/dev/net/tun", "/dev/net/tun", "rwm"}}}, fakeDevices)
	var ae *Error
	if !errors.As(err, &ae) || ae.Annotation != Devices || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "64Mi": 64 << 20, "1Gi": 1 << 30, "1.5Ki": 1536, "1k": 1000, "2M": 2e6, "1e3": 1000,
		"1E3": 1000, "1500m": 2, "0.5Mi": 512 << 10, "1Ei": 1 << 60,
	} {
		if got, err := parseQuantity(in); err != nil || got != want {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Mi", "1..2", "1Qi", "-5", "0", "8Ei", "1e", "x1", "."} {
		if got, err := parseQuantity(in); err == nil {
			t.Errorf("parseQuantity(%q) = %d, want error", in, got)
		}
	}
}

func TestValidateConfig(t *testing.T) {
	ok := config.Default()
	ok.Crio.Runtime.Runtimes["runc"].AllowedAnnotations = []string{Umask, DevicesV1, "run.oci."}
	ok.Crio.Runtime.Workloads = map[string]*config.Workload{"m": {ActivationAnnotation: "a", AllowedAnnotations: []string{ShmSize},
		Resources: &config.WorkloadResources{CPUSet: "0-3", CPUShares: 2, CPUQuota: 100, CPUPeriod: 100000}}}
	if err := ValidateConfig(ok); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		mut        func(c *config.Config)
	}{
		{"unknown handler annotation", "crio.runtime.runtimes.runc.allowed_annotations", func(c *config.Config) {
			c.Crio.Runtime.Runtimes["runc"].AllowedAnnotations = []string{"umask.crio.io/app"}
		}},
		{"no activation", "activation_annotation", func(c *config.Config) { c.Crio.Runtime.Workloads["m"].ActivationAnnotation = "" }},
		{"unknown workload annotation", "crio.runtime.workloads.m.allowed_annotations", func(c *config.Config) {
			c.Crio.Runtime.Workloads["m"].AllowedAnnotations = []string{"nope"}
		}},
		{"bad cpuset", "cpuset", func(c *config.Config) { c.Crio.Runtime.Workloads["m"].Resources.CPUSet = "a" }},
		{"short period", "cpuperiod", func(c *config.Config) { c.Crio.Runtime.Workloads["m"].Resources.CPUPeriod = 5 }},
		{"quota below shares", "cpuquota", func(c *config.Config) { c.Crio.Runtime.Workloads["m"].Resources.CPUQuota = 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Crio.Runtime.Workloads = map[string]*config.Workload{"m": {ActivationAnnotation: "a",
				Resources: &config.WorkloadResources{CPUShares: 2, CPUQuota: 100, CPUPeriod: 100000}}}
			tc.mut(c)
			if err := ValidateConfig(c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

// TestWorkloadFromTOML: a CRI-O workload table decodes into what Resolve reads.
func TestWorkloadFromTOML(t *testing.T) {
	f := t.TempDir() + "/crio.conf"
	conf := `[crio.runtime.runtimes.runc]
allowed_annotations = ["umask.crio.io"]

[crio.runtime.workloads.management]
activation_annotation = "target.workload.openshift.io/management"
annotation_prefix = "resources.workload.openshift.io"
allowed_annotations = ["io.kubernetes.cri-o.Devices"]
[crio.runtime.workloads.management.resources]
cpushares = 20
cpuset = "0-1"
`
	if err := os.WriteFile(f, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Load([]string{f})
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateConfig(c); err != nil {
		t.Fatal(err)
	}
	e, err := Resolve(Input{
		HandlerAllowed: c.Crio.Runtime.Runtimes["runc"].AllowedAnnotations, Workloads: c.Crio.Runtime.Workloads,
		AllowedDevices: c.Crio.Runtime.AllowedDevices, ContainerName: "app",
		PodAnnotations: map[string]string{"target.workload.openshift.io/management": "", Umask: "007", DevicesV1: "/dev/fuse"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *e.Umask != 0o7 || len(e.Devices) != 1 || !reflect.DeepEqual(e.WorkloadResources, &Resources{CPUShares: 20, CPUSet: "0-1"}) {
		t.Errorf("%+v", e)
	}
}
