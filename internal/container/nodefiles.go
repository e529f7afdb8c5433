package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/hooks"
	"github.com/crio-runtime/crio/internal/spec"
	"github.com/crio-runtime/crio/pkg/config"
)

// CRI-O's mounts.conf locations, read when default_mounts_file is empty:
// the first that exists is used.
var defaultMountsFiles = []string{"/etc/containers/mounts.conf", "/usr/share/containers/mounts.conf"}

// nodeFiles prepares what every container gets from node files: the
// default_mounts_file entries and the timezone's localtime, copied into the
// container's bundle (so a container sees a snapshot, never the node's
// files, and removal cleans them up). It returns the mounts for the spec.
func nodeFiles(bundle string, r *config.RuntimeConfig) ([]specs.Mount, error) {
	secrets, err := readMountsFile(r.DefaultMountsFile)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 && r.Timezone == "" {
		return nil, nil
	}
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		return nil, err
	}
	var out []specs.Mount
	for _, s := range secrets {
		info, err := os.Stat(s.src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // CRI-O skips entries whose host path is absent
		}
		if err != nil {
			return nil, fmt.Errorf("default mount %s: %w", s.src, err)
		}
		dst := filepath.Join(bundle, "mounts", s.dst)
		if err := copyTree(s.src, dst, info); err != nil {
			return nil, fmt.Errorf("default mount %s: %w", s.src, err)
		}
		out = append(out, specs.Mount{Destination: s.dst, Type: "bind", Source: dst, Options: []string{"bind", "rprivate"}})
	}
	if r.Timezone != "" {
		m, err := timezoneMount(bundle, r.Timezone)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

type mountEntry struct{ src, dst string }

// readMountsFile parses mounts.conf: "/host:/container" or "/path" per
// line; blank lines and # comments are skipped.
func readMountsFile(file string) ([]mountEntry, error) {
	files := defaultMountsFiles
	if file != "" {
		files = []string{file}
	}
	var data []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("default_mounts_file: %w", err)
		}
		data = b
		break
	}
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src, dst, ok := strings.Cut(line, ":")
		if !ok {
			dst = src
		}
		if !filepath.IsAbs(src) || !path.IsAbs(dst) || path.Clean(dst) == "/" {
			return nil, fmt.Errorf("default_mounts_file: %q is not \"/host/path:/container/path\"", line)
		}
		out = append(out, mountEntry{src: filepath.Clean(src), dst: path.Clean(dst)})
	}
	return out, sc.Err()
}

// copyTree copies a file, or a directory's files and subdirectories, from
// src to dst. Symlinks inside a directory are copied as the files they
// point to; symlinked directories are skipped (no loops).
func copyTree(src, dst string, info fs.FileInfo) error {
	if !info.IsDir() {
		return copyFile(src, dst, info.Mode().Perm())
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := os.Stat(p)
		if err != nil {
			return nil // dangling link
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, fi.Mode().Perm())
		case fi.Mode().IsRegular():
			return copyFile(p, target, fi.Mode().Perm())
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// timezoneMount copies the zone file ("Local": the host's /etc/localtime)
// into the bundle and mounts it read-only at /etc/localtime.
func timezoneMount(bundle, tz string) (specs.Mount, error) {
	var zone string
	if config.IsLocalTimezone(tz) {
		p, err := filepath.EvalSymlinks("/etc/localtime")
		if err != nil {
			return specs.Mount{}, fmt.Errorf("timezone Local: %w", err)
		}
		zone = p
	} else {
		dir := os.Getenv("TZDIR")
		if dir == "" {
			dir = "/usr/share/zoneinfo"
		}
		if !filepath.IsLocal(tz) {
			return specs.Mount{}, fmt.Errorf("timezone %q is not a zone name", tz)
		}
		zone = filepath.Join(dir, tz)
	}
	info, err := os.Stat(zone)
	if err != nil {
		return specs.Mount{}, fmt.Errorf("timezone %s: %w", tz, err)
	}
	if !info.Mode().IsRegular() {
		return specs.Mount{}, fmt.Errorf("timezone %s: %s is not a file", tz, zone)
	}
	dst := filepath.Join(bundle, "localtime")
	if err := copyFile(zone, dst, 0o644); err != nil {
		return specs.Mount{}, fmt.Errorf("timezone %s: %w", tz, err)
	}
	return specs.Mount{Destination: "/etc/localtime", Type: "bind", Source: dst,
		Options: []string{"bind", "nodev", "nosuid", "noexec", "ro"}}, nil
}

// additionalDevices converts additional_devices (validated at start).
func additionalDevices(list []string) ([]spec.DeviceMapping, error) {
	out := make([]spec.DeviceMapping, 0, len(list))
	for _, s := range list {
		d, err := config.ParseDevice(s)
		if err != nil {
			return nil, fmt.Errorf("additional_devices: %w", err)
		}
		out = append(out, spec.DeviceMapping{HostPath: d.HostPath, ContainerPath: d.ContainerPath, Permissions: d.Permissions})
	}
	return out, nil
}

// applyHooks injects the hooks_dir hooks matching the container, judged on
// the Kubernetes annotations (pod's over container's, as CRI-O) and on
// whether the request has mounts. Bad hook files are reported once each
// as host warnings, never failing the container.
func applyHooks(res *spec.Result, dirs []string, ctrAnn, podAnn map[string]string, hasMounts bool) {
	if len(dirs) == 0 {
		return
	}
	list, errs := hooks.Load(dirs)
	for _, err := range errs {
		res.HostWarnings = append(res.HostWarnings, "ignoring OCI hook: "+err.Error())
	}
	ann := maps.Clone(ctrAnn)
	if ann == nil {
		ann = map[string]string{}
	}
	maps.Copy(ann, podAnn)
	hooks.Apply(res.Spec, list, ann, hasMounts)
}
