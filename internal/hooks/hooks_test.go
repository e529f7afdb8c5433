package hooks

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseRefusesInvalid(t *testing.T) {
	for name, body := range map[string]string{
		"bad json":     `{`,
		"old version":  `{"version":"0.1.0","hook":{"path":"/bin/true"},"when":{"always":true},"stages":["prestart"]}`,
		"relative":     `{"version":"1.0.0","hook":{"path":"true"},"when":{"always":true},"stages":["prestart"]}`,
		"no stages":    `{"version":"1.0.0","hook":{"path":"/bin/true"},"when":{"always":true}}`,
		"bad stage":    `{"version":"1.0.0","hook":{"path":"/bin/true"},"when":{"always":true},"stages":["precreate"]}`,
		"no condition": `{"version":"1.0.0","hook":{"path":"/bin/true"},"when":{},"stages":["prestart"]}`,
		"bad regexp":   `{"version":"1.0.0","hook":{"path":"/bin/true"},"when":{"commands":["("]},"stages":["prestart"]}`,
	} {
		if _, err := Parse(name, []byte(body)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestMatch(t *testing.T) {
	yes, no := true, false
	s := &specs.Spec{Process: &specs.Process{Args: []string{"/usr/bin/nginx", "-g"}}}
	ann := map[string]string{"io.example/trace": "on", "other": "x"}
	tests := []struct {
		name  string
		when  When
		binds bool
		want  bool
	}{
		{"always", When{Always: &yes}, false, true},
		{"always false", When{Always: &no}, false, false},
		{"bind mounts present", When{HasBindMounts: &yes}, true, true},
		{"bind mounts absent", When{HasBindMounts: &yes}, false, false},
		{"annotation matches", When{Annotations: map[string]string{`^io\.example/trace$`: "^on$"}}, false, true},
		{"annotation value differs", When{Annotations: map[string]string{`^io\.example/trace$`: "^off$"}}, false, false},
		{"annotation missing", When{Annotations: map[string]string{`^absent$`: ".*"}}, false, false},
		{"command matches", When{Commands: []string{"nginx$"}}, false, true},
		{"command differs", When{Commands: []string{"^sh$"}}, false, false},
		{"all must hold", When{Always: &yes, Commands: []string{"^sh$"}}, false, false},
		{"always and annotation", When{Always: &yes, Annotations: map[string]string{"trace": "on"}}, false, true},
	}
	for _, tc := range tests {
		h := &Hook{When: tc.when}
		if got := h.Match(s, ann, tc.binds); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestApplyStagesInOrder(t *testing.T) {
	yes := true
	a := &Hook{Name: "a.json", Hook: specs.Hook{Path: "/a"}, When: When{Always: &yes}, Stages: []string{"prestart", "poststop"}}
	b := &Hook{Name: "b.json", Hook: specs.Hook{Path: "/b"}, When: When{Always: &yes}, Stages: []string{"createRuntime", "poststop", "createContainer", "startContainer", "poststart"}}
	c := &Hook{Name: "c.json", Hook: specs.Hook{Path: "/c"}, When: When{Commands: []string{"^nomatch$"}}, Stages: []string{"poststop"}}
	s := &specs.Spec{Process: &specs.Process{Args: []string{"sh"}}}
	got := Apply(s, []*Hook{a, b, c}, nil, false)
	if !reflect.DeepEqual(got, []string{"a.json", "b.json"}) {
		t.Fatalf("applied %v", got)
	}
	paths := func(hs []specs.Hook) (out []string) {
		for _, h := range hs {
			out = append(out, h.Path)
		}
		return out
	}
	if p := paths(s.Hooks.Poststop); !reflect.DeepEqual(p, []string{"/a", "/b"}) {
		t.Errorf("poststop %v", p)
	}
	for name, list := range map[string][]specs.Hook{
		"prestart": s.Hooks.Prestart, "createRuntime": s.Hooks.CreateRuntime, "createContainer": s.Hooks.CreateContainer, //nolint:staticcheck
		"startContainer": s.Hooks.StartContainer, "poststart": s.Hooks.Poststart,
	} {
		if len(list) != 1 {
			t.Errorf("%s: %v", name, list)
		}
	}
	if Apply(&specs.Spec{}, nil, nil, false) != nil {
		t.Error("no hooks applied something")
	}
}

func TestLoadPrecedenceAndSkips(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	write := func(dir, name, path string) {
		body := `{"version":"1.0.0","hook":{"path":"` + path + `"},"when":{"always":true},"stages":["prestart"]}`
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog := filepath.Join(d1, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(d1, "10-x.json", "/nonexistent/prog") // replaced by d2's
	write(d2, "10-x.json", prog)
	write(d1, "20-y.json", prog)
	write(d2, "30-missing.json", "/nonexistent/prog")
	write(d1, "notes.txt", prog)
	hs, errs := Load([]string{d1, filepath.Join(d1, "absent"), d2})
	if len(errs) != 2 {
		t.Errorf("errors %v, want two (missing programs)", errs)
	}
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		if h.Hook.Path != prog {
			t.Errorf("%s: path %s", h.Name, h.Hook.Path)
		}
	}
	if !reflect.DeepEqual(names, []string{"10-x.json", "20-y.json"}) {
		t.Errorf("hooks %v", names)
	}
}
