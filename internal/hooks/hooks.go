// Package hooks reads OCI hook definitions (oci-hooks(5), schema 1.0.0) from
// hooks_dir and injects the matching ones into a container's OCI spec; the
// OCI runtime (runc, crun) runs them at their stages.
package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Version is the only hook schema read.
const Version = "1.0.0"

// Stages an OCI runtime runs hooks at.
var Stages = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// Hook is one definition file.
type Hook struct {
	// Name is the file name: it orders hooks and lets a later directory
	// replace a hook of an earlier one.
	Name    string     `json:"-"`
	Version string     `json:"version"`
	Hook    specs.Hook `json:"hook"`
	When    When       `json:"when"`
	Stages  []string   `json:"stages"`
}

// When holds the injection conditions; all that are set must match.
type When struct {
	Always        *bool             `json:"always,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Commands      []string          `json:"commands,omitempty"`
	HasBindMounts *bool             `json:"hasBindMounts,omitempty"`
}

// Parse decodes and validates one definition. It does not check that the
// hook's program exists (Load does).
func Parse(name string, data []byte) (*Hook, error) {
	var h Hook
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("hook %s: %w", name, err)
	}
	h.Name = name
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("hook %s: %w", name, err)
	}
	return &h, nil
}

func (h *Hook) validate() error {
	if h.Version != Version {
		return fmt.Errorf("version %q is not %s", h.Version, Version)
	}
	if !filepath.IsAbs(h.Hook.Path) {
		return fmt.Errorf("hook.path %q is not an absolute path", h.Hook.Path)
	}
	if len(h.Stages) == 0 {
		return errors.New("no stages")
	}
	for _, s := range h.Stages {
		if !isStage(s) {
			return fmt.Errorf("unknown stage %q", s)
		}
	}
	w := h.When
	if w.Always == nil && w.HasBindMounts == nil && len(w.Annotations) == 0 && len(w.Commands) == 0 {
		return errors.New("when has no condition")
	}
	for k, v := range w.Annotations {
		if _, err := regexp.Compile(k); err != nil {
			return fmt.Errorf("when.annotations key %q: %w", k, err)
		}
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("when.annotations value %q: %w", v, err)
		}
	}
	for _, c := range w.Commands {
		if _, err := regexp.Compile(c); err != nil {
			return fmt.Errorf("when.commands %q: %w", c, err)
		}
	}
	return nil
}

func isStage(s string) bool {
	for _, st := range Stages {
		if s == st {
			return true
		}
	}
	return false
}

// Load reads every *.json file of dirs. A file in a later directory replaces
// one with the same name in an earlier directory; a missing directory has no
// hooks. Invalid files are skipped and returned as errors so the caller can
// log them: one bad file must not stop every container on the node.
func Load(dirs []string) ([]*Hook, []error) {
	byName := map[string]*Hook{}
	var errs []error
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("hooks dir: %w", err))
			}
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			h, err := loadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				errs = append(errs, err)
				delete(byName, e.Name())
				continue
			}
			byName[e.Name()] = h
		}
	}
	out := make([]*Hook, 0, len(byName))
	for _, h := range byName {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errs
}

func loadFile(path string) (*Hook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", path, err)
	}
	h, err := Parse(filepath.Base(path), data)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(h.Hook.Path); err != nil {
		return nil, fmt.Errorf("hook %s: %w", path, err)
	}
	return h, nil
}
