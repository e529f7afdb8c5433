// Package network sets up pod networking with CNI plugins (libcni).
package network

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
)

// defaultConflist is the bridge network used when the conf dir holds no
// config, so a fresh machine can run pods. contrib/cni holds the same file.
//
//go:embed default.conflist
var defaultConflist string

// DefaultConflist returns the built-in network with the given subnet.
func DefaultConflist(subnet string) []byte {
	return []byte(strings.Replace(defaultConflist, "10.85.0.0/16", subnet, 1))
}

// Source says where the network config came from.
type Source struct {
	File     string // empty for the built-in network
	Embedded bool
}

func (s Source) String() string {
	if s.Embedded {
		return "built-in default bridge network"
	}
	return s.File
}

// LoadConfig returns the network to use: the one named name, else the first
// (lexically) config in dir, else the built-in bridge network.
func LoadConfig(dir, name, subnet string) (*libcni.NetworkConfigList, Source, error) {
	files, err := libcni.ConfFiles(dir, []string{".conf", ".conflist", ".json"})
	if err != nil {
		return nil, Source{}, fmt.Errorf("read cni config dir %s: %w", dir, err)
	}
	for _, f := range files {
		list, err := loadFile(f)
		if err != nil {
			return nil, Source{File: f}, err
		}
		if name == "" || list.Name == name {
			return list, Source{File: f}, nil
		}
	}
	if name != "" && len(files) > 0 {
		return nil, Source{}, fmt.Errorf("no cni network named %q in %s", name, dir)
	}
	list, err := libcni.NetworkConfFromBytes(DefaultConflist(subnet))
	if err != nil {
		return nil, Source{}, fmt.Errorf("built-in cni config: %w", err)
	}
	return list, Source{Embedded: true}, nil
}

func loadFile(f string) (*libcni.NetworkConfigList, error) {
	if strings.HasSuffix(f, ".conflist") {
		list, err := libcni.NetworkConfFromFile(f)
		if err != nil {
			return nil, fmt.Errorf("cni config %s: %w", f, err)
		}
		return list, nil
	}
	conf, err := libcni.ConfFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("cni config %s: %w", f, err)
	}
	list, err := libcni.ConfListFromConf(conf)
	if err != nil {
		return nil, fmt.Errorf("cni config %s: %w", f, err)
	}
	return list, nil
}

// ErrNotReady is wrapped by Manager.Ready's error.
var ErrNotReady = errors.New("network plugin not ready")

// pluginPaths remembers where each plugin type was found in dirs. Status
// asks on every call whether every plugin is installed: a remembered
// plugin costs one stat, not one per directory searched (CRI-O's
// plugin_dirs has three); one gone is searched for again.
type pluginPaths struct {
	dirs  []string
	found sync.Map // type -> path
}

// check checks that every plugin of list, and loopback, is installed.
func (pp *pluginPaths) check(list *libcni.NetworkConfigList) error {
	types := []string{"loopback"}
	for _, p := range list.Plugins {
		if !slices.Contains(types, p.Network.Type) {
			types = append(types, p.Network.Type)
		}
	}
	for _, t := range types {
		if v, ok := pp.found.Load(t); ok {
			if st, err := os.Stat(v.(string)); err == nil && st.Mode().IsRegular() {
				continue
			}
			pp.found.Delete(t)
		}
		p, err := invoke.FindInPath(t, pp.dirs)
		if err != nil {
			return fmt.Errorf("%w: cni plugin %q not found in %s", ErrNotReady, t, strings.Join(pp.dirs, ":"))
		}
		pp.found.Store(t, p)
	}
	return nil
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
