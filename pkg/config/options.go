package config

import (
	"reflect"
	"strings"
)

// Option is one scalar or list option of the tree, with everything the
// generators need to know about it.
type Option struct {
	Section []string // e.g. ["crio", "api"]
	Key     string   // TOML key
	Flag    string   // CLI flag name; "" when the option has no flag
	Aliases []string // further flag names, e.g. "r" or "tz"
	Env     []string // environment variables, CRI-O's first
	Doc     string
	Reload  bool // SIGHUP may change it
	NotImpl bool // accepted for CRI-O compatibility, not acted on

	field reflect.StructField
}

// Path is the option's dotted TOML path, e.g. "crio.api.listen".
func (o Option) Path() string {
	return strings.Join(append(append([]string{}, o.Section...), o.Key), ".")
}

// Value returns the option's value inside c, addressable.
func (o Option) Value(c *Config) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for _, s := range o.Section {
		v = fieldByKey(v, s)
	}
	return fieldByKey(v, o.Key)
}

func fieldByKey(v reflect.Value, key string) reflect.Value {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if tomlKey(t.Field(i)) == key {
			return v.Field(i)
		}
	}
	panic("config: no field for key " + key)
}

func tomlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return k
}

var optionsCache = buildOptions()

// Options lists every option of the tree, in file order. The runtime handler
// tables are not in the list: they are maps, written and flagged separately.
func Options() []Option { return optionsCache }

// HandlerOptions lists the keys of one [crio.runtime.runtimes.<name>] table.
func HandlerOptions() []Option {
	return walk(reflect.TypeOf(RuntimeHandler{}), []string{"crio", "runtime", "runtimes", "*"}, nil)
}

func buildOptions() []Option {
	return walk(reflect.TypeOf(Config{}), nil, nil)
}

func walk(t reflect.Type, section []string, out []Option) []Option {
	var tables []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration{}) {
			tables = append(tables, f)
			continue
		}
		if f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Pointer {
			continue // a map of tables: written and flagged separately
		}
		if f.Type.Kind() == reflect.Pointer {
			continue // an optional sub-table of a map entry
		}
		out = append(out, newOption(section, f))
	}
	// Sub-tables come after the table's own keys, as TOML requires.
	for _, f := range tables {
		out = walk(f.Type, append(append([]string{}, section...), tomlKey(f)), out)
	}
	return out
}

func newOption(section []string, f reflect.StructField) Option {
	key := tomlKey(f)
	o := Option{
		Section: section, Key: key, field: f,
		Flag:    f.Tag.Get("flag"),
		Aliases: splitTag(f.Tag.Get("short")),
		Env:     splitTag(f.Tag.Get("env")),
		Doc:     f.Tag.Get("doc"),
		Reload:  f.Tag.Get("reload") == "true",
		NotImpl: f.Tag.Get("notimpl") == "true",
	}
	switch o.Flag {
	case "-":
		o.Flag = ""
	case "":
		o.Flag = strings.ReplaceAll(key, "_", "-")
	}
	if len(o.Env) == 0 && o.Flag != "" {
		o.Env = []string{"CONTAINER_" + strings.ToUpper(key)}
	}
	if o.Flag == "" {
		o.Env = nil
	}
	return o
}

func splitTag(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// WorkloadOptions lists the keys of one [crio.runtime.workloads.<name>] table
// and of its resources sub-table (Section ends in "resources").
func WorkloadOptions() (own, resources []Option) {
	own = walk(reflect.TypeOf(Workload{}), []string{"crio", "runtime", "workloads", "*"}, nil)
	resources = walk(reflect.TypeOf(WorkloadResources{}), []string{"crio", "runtime", "workloads", "*", "resources"}, nil)
	return own, resources
}
