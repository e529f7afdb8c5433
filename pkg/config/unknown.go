package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// IgnoredKey is a key a config file set that this runtime does not read.
// CRI-O ignores unknown keys silently, so a file written for any CRI-O
// release must start the daemon; the key is named in one warning instead.
type IgnoredKey struct {
	File string
	Key  string // dotted TOML path
	Why  string
}

func (k IgnoredKey) String() string { return fmt.Sprintf("%s: %s (%s)", k.File, k.Key, k.Why) }

// removedKeys are keys of older CRI-O releases that CRI-O no longer reads.
var removedKeys = map[string]bool{
	"crio.file_locking": true, "crio.file_locking_path": true,
	"crio.api.host_ip":                          true,
	"crio.runtime.manage_ns_lifecycle":          true,
	"crio.runtime.manage_network_ns_lifecycle":  true,
	"crio.runtime.runtime":                      true,
	"crio.runtime.runtime_untrusted_workload":   true,
	"crio.runtime.default_workload_trust":       true,
	"crio.runtime.disable_shared_pid_namespace": true,
	"crio.runtime.enable_custom_shm_size":       true,
	"crio.image.registries":                     true,
}

// misplacedKeys are [crio.runtime] keys that CRI-O's own template prints
// after the last [crio.runtime.runtimes.<name>] (or workloads) table, so TOML
// puts them inside it. CRI-O then drops them (its handler has no such field)
// and keeps the [crio.runtime] value; so does this runtime.
var misplacedKeys = []string{"hostnetwork_disable_selinux", "disable_hostport_mapping", "timezone"}

// ignoredKeys classifies the keys of one file that decoding left unread.
// Only the outermost unknown key of an unknown table is named.
func (c *Config) ignoredKeys(path, data string, md toml.MetaData) []IgnoredKey {
	var out []IgnoredKey
	var raw map[string]any
	seen := map[string]bool{}
	for _, k := range md.Undecoded() {
		key := k.String()
		if len(k) > 1 && seen[toml.Key(k[:len(k)-1]).String()] {
			seen[key] = true
			continue
		}
		seen[key] = true
		why := "unknown key; CRI-O ignores it too"
		if removedKeys[key] {
			why = "removed from CRI-O; ignored"
		}
		if len(k) == 5 && k[0] == "crio" && k[1] == "runtime" && (k[2] == "runtimes" || k[2] == "workloads") && slices.Contains(misplacedKeys, k[4]) {
			if raw == nil {
				_, _ = toml.Decode(data, &raw)
			}
			if c.sameAsRuntimeLevel(k[4], lookup(raw, k)) {
				continue // CRI-O's own default file: nothing is lost
			}
			why = "CRI-O reads it only in [crio.runtime]; ignored here as by CRI-O"
		}
		out = append(out, IgnoredKey{File: path, Key: key, Why: why})
	}
	return out
}

// sameAsRuntimeLevel reports whether v equals the [crio.runtime] value of key.
func (c *Config) sameAsRuntimeLevel(key string, v any) bool {
	cur := fieldByKey(reflect.ValueOf(&c.Crio.Runtime).Elem(), key).Interface()
	return fmt.Sprint(cur) == fmt.Sprint(v)
}

func lookup(m map[string]any, k toml.Key) any {
	var v any = m
	for _, part := range k {
		t, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = t[part]
	}
	return v
}

// IgnoredSummary renders the keys for the one warning line.
func IgnoredSummary(keys []IgnoredKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, "; ")
}
