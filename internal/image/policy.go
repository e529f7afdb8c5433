package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/signature"
	"github.com/containers/image/v5/types"
	"github.com/crio-runtime/crio/internal/errdefs"
)

const systemPolicyPath = "/etc/containers/policy.json"

// policyContext loads the signature policy afresh for each pull so edits to
// policy.json apply without a restart. With no configured path and no
// system policy file, every image is accepted.
func (s *Service) policyContext(sys *types.SystemContext) (*signature.PolicyContext, error) {
	var (
		policy *signature.Policy
		err    error
	)
	switch path := s.policyPath(); {
	case path != "":
		policy, err = signature.NewPolicyFromFile(path)
	default:
		policy = &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}
	}
	if err != nil {
		return nil, errdefs.FailedPrecondition("load signature policy %s: %w", s.policyPath(), err)
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return nil, errdefs.FailedPrecondition("signature policy %s: %w", s.policyPath(), err)
	}
	return pc, nil
}

func (s *Service) policyPath() string {
	if s.opts.SignaturePolicy != "" {
		return s.opts.SignaturePolicy
	}
	if _, err := os.Stat(systemPolicyPath); err == nil {
		return systemPolicyPath
	}
	return ""
}

// explainPolicy adds, to a policy rejection, which policy.json scope and
// requirement applied to the image.
func (s *Service) explainPolicy(err error, named reference.Named) error {
	var polErr signature.PolicyRequirementError
	if !errors.As(err, &polErr) {
		return err
	}
	path := s.policyPath()
	scope, reqs := requirementsFor(path, named)
	if reqs == "" {
		return err
	}
	return fmt.Errorf("policy %s, scope %q requires %s: %w", path, scope, reqs, err)
}

// requirementsFor finds the policy scope containers/image applies to named
// (most specific first) and describes its requirements.
func requirementsFor(path string, named reference.Named) (scope, desc string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	var raw struct {
		Default    []map[string]any                       `json:"default"`
		Transports map[string]map[string][]map[string]any `json:"transports"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return "", ""
	}
	ref, err := docker.NewReference(named)
	if err != nil {
		return "", ""
	}
	scopes := raw.Transports["docker"]
	candidates := append([]string{ref.PolicyConfigurationIdentity()}, ref.PolicyConfigurationNamespaces()...)
	candidates = append(candidates, "")
	for _, c := range candidates {
		if reqs, ok := scopes[c]; ok {
			if c == "" {
				c = "docker (transport default)"
			}
			return c, describeReqs(reqs)
		}
	}
	return "default", describeReqs(raw.Default)
}

func describeReqs(reqs []map[string]any) string {
	parts := make([]string, 0, len(reqs))
	for _, r := range reqs {
		p := fmt.Sprint(r["type"])
		for _, k := range []string{"keyType", "keyPath", "keyPaths"} {
			if v, ok := r[k]; ok {
				p += fmt.Sprintf(" %s=%v", k, v)
			}
		}
		parts = append(parts, p)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
