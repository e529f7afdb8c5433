package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// Flags returns one CLI flag per option, generated from the tree, with the
// defaults of def shown in help.
func Flags(def *Config) []cli.Flag {
	var flags []cli.Flag
	for _, o := range Options() {
		if o.Flag == "" {
			continue
		}
		flags = append(flags, newFlag(o, o.Value(def)))
	}
	flags = append(flags, &cli.StringSliceFlag{
		Name:    "runtimes",
		Usage:   "Runtime handlers to add, as name:path:root[:type[:privileged_without_host_devices[:runtime_config_path[:container_min_memory]]]] (repeatable).",
		EnvVars: []string{"CONTAINER_RUNTIMES"},
	})
	flags = append(flags, ProfileSocketFlag)
	return append(append(flags, profileFlags()...), compatFlags()...)
}

// profileFlags are CRI-O's profiling flags (no config key).
func profileFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "profile", EnvVars: []string{"CONTAINER_PROFILE"}, Usage: "Serve Go's pprof profiler on localhost:<profile-port>."},
		&cli.StringFlag{Name: "profile-cpu", EnvVars: []string{"CONTAINER_PROFILE_CPU"}, Usage: "Write a pprof CPU profile of the daemon's whole run to this path."},
		&cli.StringFlag{Name: "profile-mem", EnvVars: []string{"CONTAINER_PROFILE_MEM"}, Usage: "Write a pprof memory profile to this path when the daemon exits."},
		&cli.Int64Flag{Name: "profile-port", EnvVars: []string{"CONTAINER_PROFILE_PORT"}, Value: 6060, Usage: "Port of the pprof profiler (with --profile)."},
	}
}

// compatFlags are CRI-O's flags that set no config key and that this runtime
// accepts without acting on them, so unit files keep working.
func compatFlags() []cli.Flag {
	const usage = "Accepted for CRI-O compatibility; not implemented (reported at start)."
	return []cli.Flag{
		&cli.StringFlag{Name: "address", Hidden: true, Usage: usage},
	}
}

// ProfileSocketFlag serves Go's pprof on a root-only unix socket beside the
// CRI socket (crio-profile.sock); `crio status goroutines|heap` read it.
var ProfileSocketFlag = &cli.BoolFlag{Name: "enable-profile-unix-socket", EnvVars: []string{"ENABLE_PROFILE_UNIX_SOCKET"},
	Usage: "Serve Go profiling (pprof) on a root-only unix socket beside the CRI socket (crio-profile.sock)."}

// UnimplementedFlags names the flags (or their environment twins) that were
// given and that this runtime accepts but does not act on.
func UnimplementedFlags(ctx *cli.Context) []string {
	var out []string
	for _, o := range Options() {
		if o.NotImpl && o.Flag != "" && ctx.IsSet(o.Flag) {
			out = append(out, "--"+o.Flag)
		}
	}
	for _, f := range compatFlags() {
		if name := f.Names()[0]; ctx.IsSet(name) {
			out = append(out, "--"+name)
		}
	}
	return out
}

func newFlag(o Option, def reflect.Value) cli.Flag {
	aliases, env, usage := o.Aliases, o.Env, o.Doc
	if o.NotImpl {
		usage += " (Accepted for CRI-O compatibility; not implemented.)"
	}
	switch v := def.Interface().(type) {
	case string:
		return &cli.StringFlag{Name: o.Flag, Aliases: aliases, EnvVars: env, Usage: usage, Value: v}
	case bool:
		return &cli.BoolFlag{Name: o.Flag, Aliases: aliases, EnvVars: env, Usage: usage, Value: v}
	case int:
		return &cli.Int64Flag{Name: o.Flag, Aliases: aliases, EnvVars: env, Usage: usage, Value: int64(v)}
	case int64:
		return &cli.Int64Flag{Name: o.Flag, Aliases: aliases, EnvVars: env, Usage: usage, Value: v}
	case []string:
		return &cli.StringSliceFlag{Name: o.Flag, Aliases: aliases, EnvVars: env, Usage: usage, Value: cli.NewStringSlice(v...)}
	case Duration:
		return &cli.StringFlag{Name: o.Flag, Aliases: aliases, EnvVars: env, Usage: usage, Value: v.String()}
	}
	panic(fmt.Sprintf("config: no flag type for %s (%s)", o.Path(), def.Type()))
}

// ApplyFlags overlays every flag or environment variable that was set onto c.
// They win over the config files, as in CRI-O.
func (c *Config) ApplyFlags(ctx *cli.Context) error {
	for _, o := range Options() {
		if o.Flag == "" || !ctx.IsSet(o.Flag) {
			continue
		}
		v := o.Value(c)
		switch v.Interface().(type) {
		case string:
			v.SetString(ctx.String(o.Flag))
		case bool:
			v.SetBool(ctx.Bool(o.Flag))
		case int, int64:
			v.SetInt(ctx.Int64(o.Flag))
		case []string:
			v.Set(reflect.ValueOf(splitList(ctx.StringSlice(o.Flag))))
		case Duration:
			var d Duration
			if err := d.UnmarshalText([]byte(ctx.String(o.Flag))); err != nil {
				return fmt.Errorf("flag --%s: %w", o.Flag, err)
			}
			v.Set(reflect.ValueOf(d))
		}
	}
	for _, spec := range splitList(ctx.StringSlice("runtimes")) {
		if err := c.addRuntimeSpec(spec); err != nil {
			return err
		}
	}
	return nil
}

// splitList accepts a single comma-separated value as a list, as CRI-O does.
func splitList(v []string) []string {
	if len(v) != 1 {
		return v
	}
	var out []string
	for _, s := range strings.Split(v[0], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// addRuntimeSpec parses CRI-O's handler form
// name:path:root[:type[:privileged_without_host_devices[:runtime_config_path[:container_min_memory]]]].
func (c *Config) addRuntimeSpec(spec string) error {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 7 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("flag --runtimes: %q must be name:path:root[:type[:privileged_without_host_devices[:runtime_config_path[:container_min_memory]]]]", spec)
	}
	h := NewHandler()
	h.RuntimePath = parts[1]
	set := func(i int, dst *string) {
		if len(parts) > i && parts[i] != "" {
			*dst = parts[i]
		}
	}
	set(2, &h.RuntimeRoot)
	set(3, &h.RuntimeType)
	if len(parts) > 4 && parts[4] != "" {
		b, err := strconv.ParseBool(parts[4])
		if err != nil {
			return fmt.Errorf("flag --runtimes: %q: privileged_without_host_devices must be true or false", spec)
		}
		h.PrivilegedWithoutHostDevices = b
	}
	set(5, &h.RuntimeConfigPath)
	set(6, &h.ContainerMinMemory)
	if c.Crio.Runtime.Runtimes == nil {
		c.Crio.Runtime.Runtimes = map[string]*RuntimeHandler{}
	}
	c.Crio.Runtime.Runtimes[parts[0]] = h
	return nil
}
