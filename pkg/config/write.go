package config

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

const header = `# crio configuration file (CRI-O's layout and key names).
#
# Every option is listed. Commented-out options hold their default value;
# uncommented ones differ from it. Drop-ins in /etc/crio/crio.conf.d/*.conf
# are applied after this file, in lexical order. Each option can also be set
# by the command-line flag or environment variable named in its comment.
`

// Write prints c as commented TOML. Options equal to their value in def are
// commented out; the rest are written live, so reading the output back gives c.
func (c *Config) Write(w io.Writer, def *Config) error {
	var b bytes.Buffer
	b.WriteString(header)
	var section string
	for _, o := range Options() {
		if s := strings.Join(o.Section, "."); s != section {
			if section == "crio.runtime" {
				c.writeHandlers(&b, def)
			}
			section = s
			fmt.Fprintf(&b, "\n[%s]\n", s)
		}
		writeOption(&b, o, o.Value(c), o.Value(def))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (c *Config) writeHandlers(b *bytes.Buffer, def *Config) {
	b.WriteString("\n# Runtime handlers: the CRI runtime_handler of a pod names one of these tables.\n")
	for _, name := range c.HandlerNames() {
		base, ok := def.Crio.Runtime.Runtimes[name]
		if !ok {
			base = NewHandler()
		}
		fmt.Fprintf(b, "\n[crio.runtime.runtimes.%s]\n", tomlTableKey(name))
		writeTable(b, HandlerOptions(), reflect.ValueOf(c.Crio.Runtime.Runtimes[name]).Elem(), reflect.ValueOf(base).Elem())
	}
	b.WriteString("\n# Workloads: [crio.runtime.workloads.<name>] tables with activation_annotation,\n" +
		"# annotation_prefix, allowed_annotations and a [crio.runtime.workloads.<name>.resources]\n" +
		"# table (cpushares, cpuquota, cpuperiod, cpuset, cpulimit).\n")
	own, res := WorkloadOptions()
	for _, name := range c.WorkloadNames() {
		w := c.Crio.Runtime.Workloads[name]
		fmt.Fprintf(b, "\n[crio.runtime.workloads.%s]\n", tomlTableKey(name))
		writeTable(b, own, reflect.ValueOf(w).Elem(), reflect.ValueOf(&Workload{}).Elem())
		if w.Resources != nil {
			fmt.Fprintf(b, "\n[crio.runtime.workloads.%s.resources]\n", tomlTableKey(name))
			writeTable(b, res, reflect.ValueOf(w.Resources).Elem(), reflect.ValueOf(&WorkloadResources{}).Elem())
		}
	}
}

// writeTable writes the options of one map entry (a handler or workload);
// they have no flags, being set per entry.
func writeTable(b *bytes.Buffer, opts []Option, v, def reflect.Value) {
	for _, o := range opts {
		o.Flag, o.Env = "", nil
		writeOption(b, o, fieldByKey(v, o.Key), fieldByKey(def, o.Key))
	}
}

// notImplNote marks accepted-but-ignored options in the written config.
const notImplNote = "Accepted for CRI-O compatibility; not implemented by this runtime (a non-default value is reported at start)."

func writeOption(b *bytes.Buffer, o Option, v, def reflect.Value) {
	b.WriteString("\n")
	doc := o.Doc
	if o.NotImpl {
		doc += " " + notImplNote
	}
	for _, line := range wrap(doc, 76) {
		fmt.Fprintf(b, "# %s\n", line)
	}
	if o.Flag != "" {
		flags := "--" + o.Flag
		for _, a := range o.Aliases {
			if len(a) == 1 {
				flags += ", -" + a
			} else {
				flags += ", --" + a
			}
		}
		fmt.Fprintf(b, "# Flag: %s; environment: %s.\n", flags, strings.Join(o.Env, ", "))
	}
	prefix := ""
	if sameValue(v, def) {
		prefix = "# "
	}
	fmt.Fprintf(b, "%s%s\n", prefix, encodeKV(o.Key, v.Interface()))
}

// normalize makes nil and empty slices and maps compare equal.
func normalize(v any) any {
	if s, ok := v.([]string); ok && len(s) == 0 {
		return []string{}
	}
	if m, ok := v.(map[string]string); ok && len(m) == 0 {
		return map[string]string{}
	}
	return v
}

func encodeKV(key string, v any) string {
	if s, ok := v.([]string); ok && s == nil {
		v = []string{}
	}
	if m, ok := v.(map[string]string); ok {
		return key + " = " + inlineTable(m)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{key: v}); err != nil {
		return fmt.Sprintf("%s = %q", key, fmt.Sprint(v))
	}
	return strings.TrimSpace(buf.String())
}

// inlineTable writes m as a TOML inline table, so it stays inside the
// enclosing table.
func inlineTable(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s = %s", tomlTableKey(k), strings.TrimPrefix(encodeKV("v", m[k]), "v = ")))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func tomlTableKey(name string) string {
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", name)
		}
	}
	return name
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
