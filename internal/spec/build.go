package spec

import (
	"errors"
	"io/fs"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	scField  = "linux.security_context."
	resField = "linux.resources."
)

// builder carries one Build call.
type builder struct {
	in  Input
	g   *generator
	sc  *runtimeapi.LinuxContainerSecurityContext
	res *Result
	// user is the resolved identity (set by the user step).
	user resolvedUser
	// caps is the final capability set (set by the capability step).
	caps []string
}

// Build turns in into an OCI spec. See the package doc for the rules.
func Build(in Input) (*Result, error) {
	if in.Config == nil {
		return nil, invalid("config", "missing container config")
	}
	if in.ContainerID == "" {
		return nil, invalid("container_id", "empty")
	}
	if in.RootfsPath == "" || !filepath.IsAbs(in.RootfsPath) {
		return nil, invalid("rootfs", "path %q is not absolute", in.RootfsPath)
	}
	if in.Host == nil {
		in.Host = noHost{}
	}
	b := &builder{
		in:  in,
		g:   newGenerator(),
		sc:  in.Config.GetLinux().GetSecurityContext(),
		res: &Result{},
	}
	if b.sc == nil {
		b.sc = &runtimeapi.LinuxContainerSecurityContext{}
	}
	steps := []func() error{
		b.process, b.userStep, b.capabilities, b.seccomp, b.lsm,
		b.filesystem, b.devices, b.namespaces, b.userns, b.cgroups, b.resources, b.sysctls,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	b.res.Spec = b.g.Config
	return b.res, nil
}

func (b *builder) privileged() bool { return b.sc.GetPrivileged() }

func (b *builder) warn(msg string) { b.res.Warnings = append(b.res.Warnings, msg) }

// hostWarn notes an adjustment that every container on this host gets.
func (b *builder) hostWarn(msg string) { b.res.HostWarnings = append(b.res.HostWarnings, msg) }

// noHost is the Host of a machine with nothing on it.
type noHost struct{}

func (noHost) ReadFile(string) ([]byte, error)     { return nil, fs.ErrNotExist }
func (noHost) EvalSymlinks(string) (string, error) { return "", fs.ErrNotExist }
func (noHost) Devices(string) ([]specs.LinuxDevice, error) {
	return nil, fs.ErrNotExist
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
