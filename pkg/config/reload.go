package config

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Change is one option that a reload changed.
type Change struct {
	Key      string
	Old, New any
}

func (ch Change) String() string { return fmt.Sprintf("%s: %v -> %v", ch.Key, ch.Old, ch.New) }

// Reload copies the options SIGHUP may change from next into c and returns
// what changed. Everything else keeps its running value (it needs a restart).
// New runtime handlers are added; existing ones are left alone, since running
// containers depend on them.
func (c *Config) Reload(next *Config) []Change {
	var changes []Change
	for _, o := range Options() {
		if !o.Reload {
			continue
		}
		cur, nv := o.Value(c), o.Value(next)
		if reflect.DeepEqual(normalize(cur.Interface()), normalize(nv.Interface())) {
			continue
		}
		changes = append(changes, Change{Key: o.Path(), Old: cur.Interface(), New: nv.Interface()})
		cur.Set(nv)
	}
	for _, name := range next.HandlerNames() {
		if _, ok := c.Crio.Runtime.Runtimes[name]; !ok {
			c.Crio.Runtime.Runtimes[name] = next.Crio.Runtime.Runtimes[name]
			changes = append(changes, Change{Key: "crio.runtime.runtimes." + name, Old: nil, New: "added"})
		}
	}
	return changes
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	// A JSON round trip copies every slice and map; the tree is plain data.
	data, err := json.Marshal(c)
	if err != nil {
		panic("config: clone: " + err.Error())
	}
	out := &Config{}
	if err := json.Unmarshal(data, out); err != nil {
		panic("config: clone: " + err.Error())
	}
	return out
}
