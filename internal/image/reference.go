package image

import (
	"regexp"
	"strings"

	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/pkg/shortnames"
	"github.com/containers/image/v5/pkg/sysregistriesv2"
	"github.com/containers/image/v5/types"
	"github.com/crio-runtime/crio/internal/errdefs"
)

var (
	// otherTransports are containers/image transports a user might write as
	// "name:..."; only registry references are accepted.
	otherTransports = map[string]bool{
		"containers-storage": true, "dir": true, "docker-archive": true, "docker-daemon": true,
		"oci": true, "oci-archive": true, "ostree": true, "sif": true, "tarball": true,
	}
	tagPattern   = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	idPattern    = regexp.MustCompile(`^[a-f0-9]{64}$`)
	idPrefixExpr = regexp.MustCompile(`^[a-f0-9]{3,64}$`)
)

// normalizeInput strips an optional docker:// transport and rejects empty
// input and other transports.
func normalizeInput(input string) (string, error) {
	in := strings.TrimSpace(input)
	if in == "" {
		return "", errdefs.Invalid("", "image reference is empty")
	}
	if scheme, rest, ok := strings.Cut(in, "://"); ok {
		if scheme != "docker" {
			return "", errdefs.Invalid("", "image reference %q: unsupported transport %q, only registry (docker://) references are accepted", input, scheme)
		}
		in = rest
	}
	if name, rest, ok := strings.Cut(in, ":"); ok && otherTransports[name] && !tagPattern.MatchString(rest) {
		return "", errdefs.Invalid("", "image reference %q: unsupported transport %q, only registry (docker://) references are accepted", input, name)
	}
	if in == "" {
		return "", errdefs.Invalid("", "image reference %q has no name", input)
	}
	return in, nil
}

// pullCandidates parses a user reference and returns the fully qualified
// references to try, in order.
func (s *Service) pullCandidates(sys *types.SystemContext, input string) ([]reference.Named, error) {
	in, err := normalizeInput(input)
	if err != nil {
		return nil, err
	}
	if idPattern.MatchString(strings.TrimPrefix(in, "sha256:")) {
		return nil, errdefs.Invalid("", "image reference %q is an image ID; pull needs a name", input)
	}
	named, err := reference.ParseNormalizedNamed(in)
	if err != nil {
		return nil, errdefs.Invalid("", "invalid image reference %q: %w", input, err)
	}
	if !shortnames.IsShortName(in) {
		return []reference.Named{pullable(named)}, nil
	}
	return s.shortNameCandidates(sys, input, in, true)
}

// localCandidates is pullCandidates for looking a name up in the store:
// never ambiguous, and "localhost/" is tried first like other engines do.
func (s *Service) localCandidates(sys *types.SystemContext, in string) ([]reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(in)
	if err != nil {
		return nil, errdefs.Invalid("", "invalid image reference %q: %w", in, err)
	}
	if !shortnames.IsShortName(in) {
		return []reference.Named{pullable(named)}, nil
	}
	return s.shortNameCandidates(sys, in, in, false)
}

// shortNameCandidates resolves a short name with registries.conf: an alias
// wins; else the unqualified-search registries (docker.io when none).
func (s *Service) shortNameCandidates(sys *types.SystemContext, input, in string, forPull bool) ([]reference.Named, error) {
	parsed, err := reference.Parse(in)
	if err != nil {
		return nil, errdefs.Invalid("", "invalid image reference %q: %w", input, err)
	}
	short, ok := parsed.(reference.Named)
	if !ok {
		return nil, errdefs.Invalid("", "image reference %q has no name", input)
	}
	suffix := func(n reference.Named) (reference.Named, error) {
		if d, ok := parsed.(reference.Digested); ok {
			return reference.WithDigest(n, d.Digest())
		}
		if t, ok := parsed.(reference.Tagged); ok {
			return reference.WithTag(n, t.Tag())
		}
		return reference.TagNameOnly(n), nil
	}
	alias, _, err := sysregistriesv2.ResolveShortNameAlias(sys, short.Name())
	if err != nil {
		return nil, errdefs.Invalid("", "resolve short name %q: %w", input, err)
	}
	if alias != nil {
		n, err := suffix(alias)
		if err != nil {
			return nil, errdefs.Invalid("", "resolve short name %q: %w", input, err)
		}
		return []reference.Named{n}, nil
	}
	regs, err := sysregistriesv2.UnqualifiedSearchRegistries(sys)
	if err != nil {
		return nil, errdefs.Invalid("", "resolve short name %q: %w", input, err)
	}
	if len(regs) == 0 {
		regs = []string{"docker.io"}
	}
	if forPull && len(regs) > 1 && (sys.ShortNameMode == nil || *sys.ShortNameMode == types.ShortNameModeEnforcing) {
		// The leading sentence is the one CRI-O users and scripts know.
		return nil, errdefs.Invalid("", "short name mode is enforcing, but image name %s returns ambiguous list (unqualified-search registries: %s): use a fully qualified name or a short-name alias",
			input, strings.Join(regs, ", "))
	}
	if !forPull {
		regs = append([]string{"localhost"}, regs...)
	}
	out := make([]reference.Named, 0, len(regs))
	for _, reg := range regs {
		n, err := reference.ParseNormalizedNamed(reg + "/" + short.Name())
		if err != nil {
			return nil, errdefs.Invalid("", "short name %q with registry %q: %w", input, reg, err)
		}
		if n, err = suffix(n); err != nil {
			return nil, errdefs.Invalid("", "short name %q with registry %q: %w", input, reg, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// pullable adds ":latest" to a bare name and drops the tag from
// name:tag@digest (the digest is what is pulled and recorded).
func pullable(n reference.Named) reference.Named {
	if d, ok := n.(reference.Digested); ok {
		if out, err := reference.WithDigest(reference.TrimNamed(n), d.Digest()); err == nil {
			return out
		}
	}
	return reference.TagNameOnly(n)
}
