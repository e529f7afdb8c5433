package spec

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/procattr"
)

// DefaultPath is the PATH given to images that do not set one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// process sets args, env, cwd, terminal, rlimits and the stop signal.
func (b *builder) process() error {
	cfg := b.in.Config
	args, err := commandLine(cfg.GetCommand(), cfg.GetArgs(), b.in.Image.Entrypoint, b.in.Image.Cmd)
	if err != nil {
		return err
	}
	b.g.SetProcessArgs(args)

	env, err := mergeEnv(b.in.Image.Env, b.in.Runtime.DefaultEnv, cfg.GetEnvs())
	if err != nil {
		return err
	}
	b.g.Config.Process.Env = env

	cwd := cfg.GetWorkingDir()
	field := "working_dir"
	if cwd == "" {
		cwd, field = b.in.Image.WorkingDir, "image working dir"
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return invalid(field, "%q is not an absolute path", cwd)
	}
	b.g.SetProcessCwd(path.Clean(cwd))
	b.g.SetProcessTerminal(cfg.GetTty())
	if cfg.GetStdin() {
		b.g.AddAnnotation(AnnotationStdin, "true")
	}
	if cfg.GetStdinOnce() {
		b.g.AddAnnotation(AnnotationStdinOnce, "true")
	}
	for k, v := range cfg.GetAnnotations() {
		b.g.AddAnnotation(k, v)
	}

	for i, u := range b.in.Runtime.DefaultUlimits {
		rl, err := procattr.ParseUlimit(u)
		if err != nil {
			return &InvalidError{Field: fmt.Sprintf("default_ulimits[%d]", i), Msg: "bad ulimit", Err: err}
		}
		b.g.AddProcessRlimits(rl.Type, rl.Hard, rl.Soft)
	}
	b.g.SetProcessNoNewPrivileges(b.sc.GetNoNewPrivs())

	sig, err := stopSignal(cfg.GetStopSignal(), b.in.Image.StopSignal)
	if err != nil {
		return err
	}
	b.res.StopSignal = sig
	return nil
}

// Annotations recording stdin wiring for the monitor (OCI has no field).
const (
	AnnotationStdin     = "io.crio.stdin"
	AnnotationStdinOnce = "io.crio.stdin-once"
)

// commandLine applies the Kubernetes rules: command replaces the image
// entrypoint and drops the image cmd; args alone replace the image cmd.
func commandLine(command, args, entrypoint, cmd []string) ([]string, error) {
	var out []string
	switch {
	case len(command) > 0:
		out = append(append(out, command...), args...)
	case len(args) > 0:
		out = append(append(out, entrypoint...), args...)
	default:
		out = append(append(out, entrypoint...), cmd...)
	}
	if len(out) == 0 || out[0] == "" {
		return nil, invalid("command", "no command specified and the image has no entrypoint or cmd")
	}
	return out, nil
}

// mergeEnv overlays default and CRI env on the image env, keeping first
// positions and letting the last value win; PATH is added when missing.
func mergeEnv(image, defaults []string, cri []*runtimeapi.KeyValue) ([]string, error) {
	var out []string
	index := map[string]int{}
	set := func(k, v string) {
		if i, ok := index[k]; ok {
			out[i] = k + "=" + v
			return
		}
		index[k] = len(out)
		out = append(out, k+"="+v)
	}
	for i, kv := range image {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, invalid(fmt.Sprintf("image env[%d]", i), "empty name in %q", kv)
		}
		set(k, v)
	}
	for i, kv := range defaults {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" || !ok {
			return nil, invalid(fmt.Sprintf("default_env[%d]", i), "%q is not KEY=value", kv)
		}
		set(k, v)
	}
	for i, kv := range cri {
		k := kv.GetKey()
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, invalid(fmt.Sprintf("envs[%d].key", i), "%q is not a valid variable name", k)
		}
		v := string(kv.GetValue())
		if strings.ContainsRune(v, 0) {
			return nil, invalid(fmt.Sprintf("envs[%d].value", i), "contains a NUL byte")
		}
		set(k, v)
	}
	if _, ok := index["PATH"]; !ok {
		set("PATH", DefaultPath)
	}
	return out, nil
}

// setEnvDefault adds k=v unless k is already set.
func (b *builder) setEnvDefault(k, v string) {
	for _, kv := range b.g.Config.Process.Env {
		if strings.HasPrefix(kv, k+"=") {
			return
		}
	}
	b.g.Config.Process.Env = append(b.g.Config.Process.Env, k+"="+v)
}

// stopSignal picks the CRI stop signal, else the image's, else SIGTERM.
func stopSignal(cri runtimeapi.Signal, image string) (string, error) {
	if cri != runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
		name := strings.TrimPrefix(cri.String(), "SIGNAL_")
		if unix.SignalNum(name) == 0 {
			return "", invalid("stop_signal", "unknown signal %v", cri)
		}
		return name, nil
	}
	if image == "" {
		return "SIGTERM", nil
	}
	s := strings.ToUpper(image)
	if n, err := strconv.Atoi(s); err == nil {
		if name := unix.SignalName(unix.Signal(n)); name != "" {
			return name, nil
		}
		return "", invalid("image stop signal", "unknown signal %q", image)
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if unix.SignalNum(s) == 0 {
		return "", invalid("image stop signal", "unknown signal %q", image)
	}
	return s, nil
}
