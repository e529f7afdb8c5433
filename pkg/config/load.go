package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// UpdateFromFile overlays the keys present in one TOML file onto c. A value
// of the wrong type is an error naming the file; keys this runtime does not
// read are returned, for the one warning (CRI-O ignores them silently).
func (c *Config) UpdateFromFile(path string) ([]IgnoredKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	old := c.Crio.Runtime.Runtimes
	c.Crio.Runtime.Runtimes = nil
	md, err := toml.Decode(string(data), c)
	fresh := c.Crio.Runtime.Runtimes
	c.Crio.Runtime.Runtimes = old
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	c.mergeHandlers(fresh, md)
	return c.ignoredKeys(path, string(data), md), nil
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

// Load builds the effective config from the defaults and the given files,
// and names the keys of the files it did not read.
func Load(files []string) (*Config, []IgnoredKey, error) {
	c, ignored, err := LoadFiles(files)
	if err != nil {
		return nil, nil, err
	}
	c.FillInstancePaths()
	return c, ignored, nil
}

// LoadFiles is Load without the per-instance paths: the ones no file set
// stay empty, so that flags may still move root and runroot before
// FillInstancePaths derives them.
func LoadFiles(files []string) (*Config, []IgnoredKey, error) {
	c := Default()
	c.clearInstancePaths()
	var ignored []IgnoredKey
	for _, f := range files {
		keys, err := c.UpdateFromFile(f)
		if err != nil {
			return nil, nil, err
		}
		ignored = append(ignored, keys...)
	}
	c.foldPluginDir()
	return c, ignored, nil
}

// foldPluginDir honours CRI-O's deprecated single plugin_dir by searching it
// first.
func (c *Config) foldPluginDir() {
	n := &c.Crio.Network
	if n.PluginDir != "" && !slices.Contains(n.PluginDirs, n.PluginDir) {
		n.PluginDirs = append([]string{n.PluginDir}, n.PluginDirs...)
	}
}
