package hooks

import (
	"regexp"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Match reports whether h applies to a container with this spec, these
// Kubernetes annotations (container and pod) and CRI bind mounts or not.
// Every condition set must hold; when commands are set, one of them must
// match the container's first argument.
func (h *Hook) Match(s *specs.Spec, annotations map[string]string, hasBindMounts bool) bool {
	w := h.When
	if w.Always != nil && !*w.Always {
		return false
	}
	if w.HasBindMounts != nil && !(*w.HasBindMounts && hasBindMounts) {
		return false
	}
	for kp, vp := range w.Annotations {
		if !anyAnnotation(kp, vp, annotations) {
			return false
		}
	}
	if len(w.Commands) > 0 {
		if s.Process == nil || len(s.Process.Args) == 0 {
			return false
		}
		for _, c := range w.Commands {
			if ok, _ := regexp.MatchString(c, s.Process.Args[0]); ok {
				return true
			}
		}
		return false
	}
	return true
}

func anyAnnotation(keyPattern, valuePattern string, annotations map[string]string) bool {
	for k, v := range annotations {
		if ok, _ := regexp.MatchString(keyPattern, k); !ok {
			continue
		}
		if ok, _ := regexp.MatchString(valuePattern, v); ok {
			return true
		}
	}
	return false
}

// Apply appends the matching hooks, in order, to their stages of s and
// returns the names of those applied.
func Apply(s *specs.Spec, hooks []*Hook, annotations map[string]string, hasBindMounts bool) []string {
	var applied []string
	for _, h := range hooks {
		if !h.Match(s, annotations, hasBindMounts) {
			continue
		}
		if s.Hooks == nil {
			s.Hooks = &specs.Hooks{}
		}
		for _, st := range h.Stages {
			if list := stageList(s.Hooks, st); list != nil {
				*list = append(*list, h.Hook)
			}
		}
		applied = append(applied, h.Name)
	}
	return applied
}

func stageList(hs *specs.Hooks, stage string) *[]specs.Hook {
	switch stage {
	case "prestart":
		return &hs.Prestart //nolint:staticcheck // deprecated in the spec, still run by runc and used by hooks
	case "createRuntime":
		return &hs.CreateRuntime
	case "createContainer":
		return &hs.CreateContainer
	case "startContainer":
		return &hs.StartContainer
	case "poststart":
		return &hs.Poststart
	case "poststop":
		return &hs.Poststop
	}
	return nil
}
