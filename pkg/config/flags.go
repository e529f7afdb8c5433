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
		Usage:   "Runtime handlers to add, as name:path:root:type (repeatable).",
		EnvVars: []string{"CONTAINER_RUNTIMES"},
	})
	return flags
}

func newFlag(o Option, def reflect.Value) cli.Flag {
	var aliases []string
	if o.Short != "" {
		aliases = []string{o.Short}
	}
	env := []string{o.Env}
	usage := o.Doc
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
			v.Set(reflect.ValueOf(ctx.StringSlice(o.Flag)))
		case Duration:
			var d Duration
			if err := d.UnmarshalText([]byte(ctx.String(o.Flag))); err != nil {
				return fmt.Errorf("flag --%s: %w", o.Flag, err)
			}
			v.Set(reflect.ValueOf(d))
		}
	}
	for _, spec := range ctx.StringSlice("runtimes") {
		if err := c.addRuntimeSpec(spec); err != nil {
			return err
		}
	}
	return nil
}

// addRuntimeSpec parses CRI-O's name:path:root:type handler form.
func (c *Config) addRuntimeSpec(spec string) error {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("flag --runtimes: %q must be name:path[:root[:type[:privileged_without_host_devices]]]", spec)
	}
	h := NewHandler()
	h.RuntimePath = parts[1]
	if len(parts) > 2 {
		h.RuntimeRoot = parts[2]
	}
	if len(parts) > 3 && parts[3] != "" {
		h.RuntimeType = parts[3]
	}
	if len(parts) > 4 && parts[4] != "" {
		b, err := strconv.ParseBool(parts[4])
		if err != nil {
			return fmt.Errorf("flag --runtimes: %q: privileged_without_host_devices must be true or false", spec)
		}
		h.PrivilegedWithoutHostDevices = b
	}
	if c.Crio.Runtime.Runtimes == nil {
		c.Crio.Runtime.Runtimes = map[string]*RuntimeHandler{}
	}
	c.Crio.Runtime.Runtimes[parts[0]] = h
	return nil
}
