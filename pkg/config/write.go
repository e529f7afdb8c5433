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
		h := c.Crio.Runtime.Runtimes[name]
		base, ok := def.Crio.Runtime.Runtimes[name]
		if !ok {
			base = NewHandler()
		}
		fmt.Fprintf(b, "\n[crio.runtime.runtimes.%s]\n", tomlTableKey(name))
		hv, bv := reflect.ValueOf(h).Elem(), reflect.ValueOf(base).Elem()
		for i, o := range HandlerOptions() {
			o.Flag, o.Env = "", "" // set per handler through --runtimes
			writeOption(b, o, hv.Field(i), bv.Field(i))
		}
	}
}

func writeOption(b *bytes.Buffer, o Option, v, def reflect.Value) {
	b.WriteString("\n")
	for _, line := range wrap(o.Doc, 76) {
		fmt.Fprintf(b, "# %s\n", line)
	}
	if o.Flag != "" {
		flags := "--" + o.Flag
		if o.Short != "" {
			flags += ", -" + o.Short
		}
		fmt.Fprintf(b, "# Flag: %s; environment: %s.\n", flags, o.Env)
	}
	prefix := ""
	if reflect.DeepEqual(normalize(v.Interface()), normalize(def.Interface())) {
		prefix = "# "
	}
	fmt.Fprintf(b, "%s%s\n", prefix, encodeKV(o.Key, v.Interface()))
}

// normalize makes nil and empty slices compare equal.
func normalize(v any) any {
	if s, ok := v.([]string); ok && len(s) == 0 {
		return []string{}
	}
	return v
}

func encodeKV(key string, v any) string {
	if s, ok := v.([]string); ok && s == nil {
		v = []string{}
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{key: v}); err != nil {
		return fmt.Sprintf("%s = %q", key, fmt.Sprint(v))
	}
	return strings.TrimSpace(buf.String())
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
