package spec

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// fakeHost is a hand-written Host: files, resolvable paths and devices.
type fakeHost struct {
	files   map[string]string
	paths   map[string]string // host path -> resolved path
	devices map[string][]specs.LinuxDevice
}

func (h fakeHost) ReadFile(p string) ([]byte, error) {
	if s, ok := h.files[p]; ok {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (h fakeHost) EvalSymlinks(p string) (string, error) {
	if r, ok := h.paths[p]; ok {
		return r, nil
	}
	return "", &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
}

func (h fakeHost) Devices(p string) ([]specs.LinuxDevice, error) {
	if d, ok := h.devices[p]; ok {
		return d, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
}

func dev(path, typ string, major, minor int64) specs.LinuxDevice {
	return specs.LinuxDevice{Path: path, Type: typ, Major: major, Minor: minor}
}

func newHost() fakeHost {
	return fakeHost{
		files: map[string]string{},
		paths: map[string]string{
			"/data":                 "/data",
			"/var/lib/kubelet/pods": "/var/lib/kubelet/pods",
			"/link":                 "/real/target",
			"/var/lib/kubelet/pods/uid/containers/c/0": "/var/lib/kubelet/pods/uid/containers/c/0",
			"/images/img1/sub":                         "/images/img1/sub",
			"/images/img1/escape":                      "/etc",
		},
		devices: map[string][]specs.LinuxDevice{
			"/dev/fuse": {dev("/dev/fuse", "c", 10, 229)},
			"/dev/snd":  {dev("/dev/snd/controlC0", "c", 116, 0), dev("/dev/snd/timer", "c", 116, 33)},
			"/dev": {
				dev("/dev/null", "c", 1, 3), dev("/dev/sda", "b", 8, 0),
				dev("/dev/pts/0", "c", 136, 0), dev("/dev/ptmx", "c", 5, 2),
			},
		},
	}
}

// kubeletSC is the security context the kubelet sends for a plain pod.
func kubeletSC() *runtimeapi.LinuxContainerSecurityContext {
	return &runtimeapi.LinuxContainerSecurityContext{
		NamespaceOptions: &runtimeapi.NamespaceOption{
			Network: runtimeapi.NamespaceMode_POD,
			Pid:     runtimeapi.NamespaceMode_CONTAINER,
			Ipc:     runtimeapi.NamespaceMode_POD,
		},
		MaskedPaths:   append([]string{}, DefaultMaskedPaths...),
		ReadonlyPaths: append([]string{}, DefaultReadonlyPaths...),
	}
}

func baseInput() Input {
	return Input{
		ContainerID: "c0ffee",
		RootfsPath:  "/var/lib/containers/storage/overlay/abc/merged",
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: "busybox"},
			Linux: &runtimeapi.LinuxContainerConfig{
				SecurityContext: kubeletSC(),
				Resources:       &runtimeapi.LinuxContainerResources{CpuShares: 2, OomScoreAdj: 1000},
			},
		},
		SandboxConfig: &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{}},
		Sandbox: Sandbox{
			NetNSPath: "/run/crio/ns/net/pod1", IPCNSPath: "/run/crio/ns/ipc/pod1", UTSNSPath: "/run/crio/ns/uts/pod1",
			CgroupParent: "/kubepods/besteffort/pod1", Hostname: "pod1",
			HostnamePath: "/run/crio/pod1/hostname", ResolvConfPath: "/run/crio/pod1/resolv.conf",
			ShmPath: "/run/crio/pod1/shm",
		},
		Image:   ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin:/usr/bin"}},
		Runtime: RuntimeOptions{SeccompUseDefaultWhenEmpty: true},
		Host:    newHost(),
	}
}

func sc(in *Input) *runtimeapi.LinuxContainerSecurityContext {
	return in.Config.Linux.SecurityContext
}

// checkErr asserts err's kind ("" = success, "invalid", "precondition")
// and that the message mentions field.
func checkErr(t *testing.T, err error, kind, field string) {
	t.Helper()
	var ie *InvalidError
	var pe *FailedPreconditionError
	switch kind {
	case "":
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	case "invalid":
		if !errors.As(err, &ie) {
			t.Fatalf("want InvalidError, got %T %v", err, err)
		}
		if errdefs.Kind(err) != errdefs.ErrInvalidArgument {
			t.Fatalf("kind %v", errdefs.Kind(err))
		}
	case "precondition":
		if !errors.As(err, &pe) {
			t.Fatalf("want FailedPreconditionError, got %T %v", err, err)
		}
		if errdefs.Kind(err) != errdefs.ErrFailedPrecondition {
			t.Fatalf("kind %v", errdefs.Kind(err))
		}
	}
	if !strings.Contains(err.Error(), field) {
		t.Fatalf("error %q does not name %q", err, field)
	}
}

func build(t *testing.T, in Input) *Result {
	t.Helper()
	res, err := Build(in)
	checkErr(t, err, "", "")
	return res
}

func findMount(s *specs.Spec, dst string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			return &s.Mounts[i]
		}
	}
	return nil
}

func hasNS(s *specs.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == typ {
			return n, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func hasAll(have []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
