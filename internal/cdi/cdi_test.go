package cdi

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

const vendorSpec = `{
  "cdiVersion": "0.6.0",
  "kind": "example.com/dev",
  "devices": [{
    "name": "null",
    "containerEdits": {
      "deviceNodes": [{"path": "/dev/xnull", "hostPath": "/dev/null"}],
      "env": ["XDEV=null"],
      "mounts": [{"hostPath": "/etc", "containerPath": "/mnt/xetc", "options": ["ro", "bind"]}],
      "hooks": [{"hookName": "createContainer", "path": "/bin/true", "args": ["true"]}]
    }
  }]
}`

func writeSpec(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func cfgWith(devs []string, ann map[string]string) *runtimeapi.ContainerConfig {
	c := &runtimeapi.ContainerConfig{Annotations: ann}
	for _, d := range devs {
		c.CDIDevices = append(c.CDIDevices, &runtimeapi.CDIDevice{Name: d})
	}
	return c
}

func baseSpec() *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{Env: []string{"PATH=/bin"}},
		Linux: &specs.Linux{Resources: &specs.LinuxResources{
			Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		}},
	}
}

func TestDevices(t *testing.T) {
	got, err := Devices(cfgWith([]string{"b.com/x=1", "a.com/y=2"},
		map[string]string{"cdi.k8s.io/z": "a.com/y=2,c.com/z=3", "other": "x"}))
	if err != nil || !slices.Equal(got, []string{"a.com/y=2", "c.com/z=3", "b.com/x=1"}) {
		t.Fatalf("Devices = %v, %v", got, err)
	}
	for name, cfg := range map[string]*runtimeapi.ContainerConfig{
		"config.cdi_devices[0].name":       cfgWith([]string{"gpu0"}, nil),
		"config.annotations[cdi.k8s.io/a]": cfgWith(nil, map[string]string{"cdi.k8s.io/a": "a.com/x=1,,"}),
	} {
		_, err := Devices(cfg)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestInject(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, "example.json", vendorSpec)
	s := baseSpec()
	if err := Inject([]string{filepath.Join(t.TempDir(), "absent"), dir}, s, cfgWith([]string{"example.com/dev=null"}, nil)); err != nil {
		t.Fatal(err)
	}
	var dev *specs.LinuxDevice
	for i := range s.Linux.Devices {
		if s.Linux.Devices[i].Path == "/dev/xnull" {
			dev = &s.Linux.Devices[i]
		}
	}
	if dev == nil || dev.Type != "c" || dev.Major != 1 || dev.Minor != 3 {
		t.Fatalf("device node: %+v", s.Linux.Devices)
	}
	// The allow rule must come after the default deny so it wins.
	last := s.Linux.Resources.Devices[len(s.Linux.Resources.Devices)-1]
	if !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != "rwm" {
		t.Errorf("device cgroup rules: %+v", s.Linux.Resources.Devices)
	}
	if !slices.Contains(s.Process.Env, "XDEV=null") {
		t.Errorf("env: %v", s.Process.Env)
	}
	if len(s.Mounts) != 1 || s.Mounts[0].Destination != "/mnt/xetc" || s.Mounts[0].Source != "/etc" {
		t.Errorf("mounts: %+v", s.Mounts)
	}
	if s.Hooks == nil || len(s.Hooks.CreateContainer) != 1 || s.Hooks.CreateContainer[0].Path != "/bin/true" {
		t.Errorf("hooks: %+v", s.Hooks)
	}
}

func TestInjectUnknownAndRefresh(t *testing.T) {
	dir := t.TempDir()
	dirs := []string{dir}
	cfg := cfgWith([]string{"example.com/dev=null"}, nil)
	err := Inject(dirs, baseSpec(), cfg)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "example.com/dev=null") {
		t.Fatalf("unknown device: %v", err)
	}
	// A spec file added after the first lookup is found without a restart.
	writeSpec(t, dir, "example.json", vendorSpec)
	if err := Inject(dirs, baseSpec(), cfg); err != nil {
		t.Fatalf("after adding the spec: %v", err)
	}
	// An edit (the device renamed) is seen too, and a broken file is named.
	writeSpec(t, dir, "example.json", strings.Replace(vendorSpec, `"name": "null"`, `"name": "zero"`, 1))
	writeSpec(t, dir, "broken.yaml", "cdiVersion: [")
	err = Inject(dirs, baseSpec(), cfg)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "broken.yaml") {
		t.Fatalf("after the edit: %v", err)
	}
	if err := Inject(dirs, baseSpec(), cfgWith(nil, map[string]string{"cdi.k8s.io/x": "example.com/dev=zero"})); err != nil {
		t.Fatalf("annotation form after the edit: %v", err)
	}
}

func TestInjectNothingOrNoDirs(t *testing.T) {
	s := baseSpec()
	if err := Inject(nil, s, cfgWith(nil, nil)); err != nil || len(s.Linux.Devices) != 0 {
		t.Fatalf("no devices: %v %+v", err, s.Linux.Devices)
	}
	err := Inject(nil, s, cfgWith([]string{"example.com/dev=null"}, nil))
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "cdi_spec_dirs is empty") {
		t.Fatalf("empty dirs: %v", err)
	}
}
