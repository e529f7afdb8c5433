// Package cdi injects Container Device Interface devices into a container's
// OCI spec: the devices a CreateContainer request names in cdi_devices or in
// cdi.k8s.io/ annotations, resolved against the spec files of cdi_spec_dirs.
package cdi

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	cdilib "tags.cncf.io/container-device-interface/pkg/cdi"
	"tags.cncf.io/container-device-interface/pkg/parser"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// Devices lists the qualified device names a container asks for: those of
// its cdi.k8s.io/ annotations (in key order, so the spec is reproducible)
// then its cdi_devices, each once.
func Devices(cfg *runtimeapi.ContainerConfig) ([]string, error) {
	var out []string
	keys := make([]string, 0, len(cfg.GetAnnotations()))
	for k := range cfg.GetAnnotations() {
		if strings.HasPrefix(k, cdilib.AnnotationPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, d := range strings.Split(cfg.Annotations[k], ",") {
			if !parser.IsQualifiedName(d) {
				return nil, errdefs.Invalid("config.annotations["+k+"]", "%q is not a qualified CDI device name (vendor.com/class=name)", d)
			}
			out = append(out, d)
		}
	}
	for i, d := range cfg.GetCDIDevices() {
		if !parser.IsQualifiedName(d.GetName()) {
			return nil, errdefs.Invalid(fmt.Sprintf("config.cdi_devices[%d].name", i), "%q is not a qualified CDI device name (vendor.com/class=name)", d.GetName())
		}
		out = append(out, d.GetName())
	}
	return dedupe(out), nil
}

func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Inject applies the edits of the devices cfg asks for (device nodes with
// their device cgroup rule, mounts, env, hooks) to s, resolving them in
// dirs. A container that asks for none costs nothing, not even a scan.
func Inject(dirs []string, s *specs.Spec, cfg *runtimeapi.ContainerConfig) error {
	devices, err := Devices(cfg)
	if err != nil {
		return err
	}
	return InjectNamed(dirs, s, devices)
}

// InjectNamed is Inject for devices named by their qualified names (an NRI
// plugin's adjustment names them so).
func InjectNamed(dirs []string, s *specs.Spec, devices []string) error {
	if len(devices) == 0 {
		return nil
	}
	if len(dirs) == 0 {
		// The library would read its default dirs instead.
		return errdefs.FailedPrecondition("unresolvable CDI devices %s: cdi_spec_dirs is empty", strings.Join(devices, ", "))
	}
	return registryFor(dirs).inject(s, devices)
}

// registry is one CDI cache over a list of directories, rescanned when the
// directories' listing changes. The library's fsnotify auto-refresh is off:
// it updates in the background, so a spec file written just before a create
// could still be missed; a listing check on each create cannot miss it.
type registry struct {
	mu    sync.Mutex
	dirs  []string
	cache *cdilib.Cache
	seen  string // signature of the dirs at the last rescan
}

var (
	registriesMu sync.Mutex
	registries   = map[string]*registry{}
)

// registryFor returns the registry of dirs, made on first use (a config
// reload that changes the list gets a fresh one).
func registryFor(dirs []string) *registry {
	key := strings.Join(dirs, "\x00")
	registriesMu.Lock()
	defer registriesMu.Unlock()
	r := registries[key]
	if r == nil {
		r = &registry{dirs: slices.Clone(dirs)}
		registries[key] = r
	}
	return r
}

func (r *registry) inject(s *specs.Spec, devices []string) error {
	cache, err := r.current()
	if err != nil {
		return err
	}
	unresolved, err := cache.InjectDevices(s, devices...)
	if len(unresolved) > 0 {
		return errdefs.FailedPrecondition("unresolvable CDI devices %s (no spec in %s defines them%s)",
			strings.Join(unresolved, ", "), strings.Join(r.dirs, ", "), specErrors(cache))
	}
	if err != nil {
		return errdefs.FailedPrecondition("inject CDI devices %s: %w", strings.Join(devices, ", "), err)
	}
	return nil
}

// current returns the cache, rescanned first if a spec file was added,
// removed or changed since the last scan.
func (r *registry) current() (*cdilib.Cache, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sig := signature(r.dirs)
	if r.cache == nil {
		c, err := cdilib.NewCache(cdilib.WithSpecDirs(r.dirs...), cdilib.WithAutoRefresh(false))
		if err != nil {
			return nil, fmt.Errorf("cdi cache: %w", err)
		}
		r.cache, r.seen = c, sig
		return c, nil
	}
	if sig != r.seen {
		// Errors name broken spec files; other files' devices still
		// resolve, and an unresolved device reports them.
		_ = r.cache.Refresh()
		r.seen = sig
	}
	return r.cache, nil
}

// specErrors summarises the spec files the cache could not load, which is
// often why a device does not resolve.
func specErrors(c *cdilib.Cache) string {
	var msgs []string
	for path, errs := range c.GetErrors() {
		msgs = append(msgs, path+": "+errors.Join(errs...).Error())
	}
	if len(msgs) == 0 {
		return ""
	}
	sort.Strings(msgs)
	return "; spec errors: " + strings.Join(msgs, "; ")
}
