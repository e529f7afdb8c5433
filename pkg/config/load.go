package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Files returns the config files to read for the given main file and drop-in
// dir, in the order they apply: the main file, then *.conf of the dir in
// lexical order. A missing main file or dir is not an error (CRI-O's defaults
// apply); an empty name means "none".
func Files(mainFile, dropInDir string) ([]string, error) {
	var files []string
	if mainFile != "" {
		if _, err := os.Stat(mainFile); err == nil {
			files = append(files, mainFile)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config file %s: %w", mainFile, err)
		}
	}
	if dropInDir != "" {
		entries, err := os.ReadDir(dropInDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config dir %s: %w", dropInDir, err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(dropInDir, n))
		}
	}
	return files, nil
}

// UpdateFromFile overlays the keys present in one TOML file onto c. Unknown
// keys are an error naming the key and the file.
func (c *Config) UpdateFromFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	old := c.Crio.Runtime.Runtimes
	c.Crio.Runtime.Runtimes = nil
	md, err := toml.Decode(string(data), c)
	fresh := c.Crio.Runtime.Runtimes
	c.Crio.Runtime.Runtimes = old
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return fmt.Errorf("config file %s: unknown key %q", path, undecoded[0].String())
	}
	c.mergeHandlers(fresh, md)
	return nil
}

// mergeHandlers overlays only the keys a file set, so a drop-in that changes
// one key of a handler keeps the others (TOML decoding would replace the table).
func (c *Config) mergeHandlers(fresh map[string]*RuntimeHandler, md toml.MetaData) {
	if c.Crio.Runtime.Runtimes == nil {
		c.Crio.Runtime.Runtimes = map[string]*RuntimeHandler{}
	}
	for name, h := range fresh {
		dst, ok := c.Crio.Runtime.Runtimes[name]
		if !ok {
			dst = NewHandler()
			c.Crio.Runtime.Runtimes[name] = dst
		}
		src, d := reflect.ValueOf(h).Elem(), reflect.ValueOf(dst).Elem()
		for i := 0; i < src.NumField(); i++ {
			key := tomlKey(src.Type().Field(i))
			if md.IsDefined("crio", "runtime", "runtimes", name, key) {
				d.Field(i).Set(src.Field(i))
			}
		}
	}
}

// NewHandler returns a runtime handler with the defaults every handler gets.
func NewHandler() *RuntimeHandler {
	return &RuntimeHandler{RuntimeType: "oci", MonitorCgroup: "pod", AllowedAnnotations: []string{}, ContainerCreateTimeout: 240}
}

// Load builds the effective config from the defaults and the given files.
func Load(files []string) (*Config, error) {
	c := Default()
	for _, f := range files {
		if err := c.UpdateFromFile(f); err != nil {
			return nil, err
		}
	}
	c.foldPluginDir()
	return c, nil
}

// foldPluginDir honours CRI-O's deprecated single plugin_dir by searching it
// first.
func (c *Config) foldPluginDir() {
	n := &c.Crio.Network
	if n.PluginDir != "" && !contains(n.PluginDirs, n.PluginDir) {
		n.PluginDirs = append([]string{n.PluginDir}, n.PluginDirs...)
	}
}
