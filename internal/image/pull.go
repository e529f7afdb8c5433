package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containers/image/v5/copy"
	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/manifest"
	"github.com/containers/image/v5/signature"
	istorage "github.com/containers/image/v5/storage"
	"github.com/containers/image/v5/types"
	"github.com/containers/storage"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
)

// Pull fetches ref into the store and returns the image ID (the config
// digest's hex), which is also the image's Id and ImageRef everywhere else.
// Identical concurrent pulls share one download.
func (s *Service) Pull(ctx context.Context, ref string, auth *runtimeapi.AuthConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	sys := s.systemContext()
	authKey, err := applyAuth(sys, auth)
	if err != nil {
		return "", err
	}
	cands, err := s.pullCandidates(sys, ref)
	if err != nil {
		return "", err
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.String()
	}
	key := strings.Join(names, ",") + "|" + authKey
	log := logging.From(ctx)
	log.InfoContext(ctx, "Pulling image", "image", ref)
	id, err := s.pulls.do(ctx, key, func(pctx context.Context) (string, error) {
		return s.pullAny(pctx, sys, ref, cands)
	})
	if err == nil {
		log.InfoContext(ctx, "Pulled image", "image", ref, "imageID", id)
	}
	return id, err
}

// pullAny tries each candidate in order and returns the first success.
func (s *Service) pullAny(ctx context.Context, sys *types.SystemContext, input string, cands []reference.Named) (string, error) {
	var errs []error
	for _, c := range cands {
		id, err := s.pullKept(ctx, sys, c)
		if err == nil {
			logging.From(ctx).DebugContext(ctx, "pulled image from candidate", "image", input, "name", c.String(), "imageID", id)
			return id, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !tryNext(err) {
			break
		}
	}
	if len(errs) == 1 {
		return "", errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return "", errdefs.New(kindOf(errs[len(errs)-1]), "pull %s: every candidate failed: %s", input, strings.Join(msgs, "; "))
}

// pullKept pulls named and keeps what it stored from a removal of the
// same image answered meanwhile (see keep). When a removal's deletion ran
// beside the pull (it may have deleted layers the pull found stored, or
// the image it just stored again), the pull runs once more: its start
// then waits for that deletion.
func (s *Service) pullKept(ctx context.Context, sys *types.SystemContext, named reference.Named) (string, error) {
	// A removal of this name still in its delay waits for the pull: when
	// the registry still has that image, the pull reuses it (keep).
	held := s.holdReaps(named.String())
	defer s.releaseReaps(held)
	for retried := false; ; retried = true {
		deletions := s.reaps.deletions.Load()
		id, err := s.pullOne(ctx, sys, named)
		if err == nil {
			if err = s.keep(id, named.String()); err != nil {
				err = errdefs.New(errdefs.ErrUnavailable, "pull %s: %w", named.String(), err)
			}
		}
		if err == nil || retried || ctx.Err() != nil || s.reaps.deletions.Load() == deletions {
			return id, err
		}
		logging.From(ctx).InfoContext(ctx, "pulling again: an image removal deleted beside the pull", "image", named.String(), "error", err)
	}
}

// tryNext says whether another short-name candidate is worth trying.
func tryNext(err error) bool {
	switch kindOf(err) {
	case errdefs.ErrNotFound, errdefs.ErrUnavailable, errdefs.ErrUnauthenticated, errdefs.ErrUnknown:
		return true
	}
	return false
}

func (s *Service) pullOne(ctx context.Context, sys *types.SystemContext, named reference.Named) (id string, retErr error) {
	registry := reference.Domain(named)
	sys = s.withInsecure(sys, registry)
	srcRef, err := docker.NewReference(named)
	if err != nil {
		return "", errdefs.Invalid("", "image reference %s: %w", named, err)
	}
	destRef, err := istorage.Transport.NewStoreReference(s.store, named, "")
	if err != nil {
		return "", errdefs.New(errdefs.ErrInternal, "storage reference for %s: %w", named, err)
	}
	policyCtx, err := s.policyContext(sys)
	if err != nil {
		return "", err
	}
	defer func() { _ = policyCtx.Destroy() }()

	s.waitReaps() // never reuse layers a removed image's reap is deleting
	s.gc.begin()
	defer func() { s.gc.end(retErr != nil) }()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sink := &progressSink{}
	var stopWatch func()
	if t, each := s.progressTimeout(), s.progressHook(named); t > 0 || each != nil {
		sink.ch, sink.interval, stopWatch = watchProgress(t, cancel, each)
	}
	facts := &pullFacts{}
	unwatch := watchSources(sys, named, logging.From(ctx))
	srcSys := logMirrorChoice(sys)
	id, err = s.fastPull(ctx, srcSys, srcRef, destRef, policyCtx, facts, sink)
	if errors.Is(err, errNotFast) {
		logging.From(ctx).DebugContext(ctx, "pulling with containers/image copy", "image", named.String(), "reason", err)
		pullPaths.general.Add(1)
		facts = &pullFacts{}
		id, err = s.copyPull(ctx, srcSys, sys, srcRef, destRef, policyCtx, facts, sink)
	} else if err == nil {
		logging.From(ctx).DebugContext(ctx, "pulled with the direct path", "image", named.String())
		pullPaths.fast.Add(1)
	}
	unwatch()
	if stopWatch != nil {
		stopWatch()
	}
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errNoProgress) {
			err = cause
		}
		err = s.explainPolicy(err, named)
		return "", pullError(named.String(), registry, err)
	}
	s.dropInfo(id) // names changed; facts are rebuilt lazily
	if err := facts.crossLayerCheck(s.layerOrder(id)); err != nil {
		if _, derr := s.store.DeleteImage(id, true); derr != nil {
			s.log.WarnContext(ctx, "delete rejected image", "id", id, "err", derr)
		}
		return "", pullError(named.String(), registry, err)
	}
	return id, nil
}

// copyPull is the general path: containers/image's copy.Image into the
// storage destination.
func (s *Service) copyPull(ctx context.Context, srcSys, destSys *types.SystemContext, srcRef, destRef types.ImageReference,
	policyCtx *signature.PolicyContext, facts *pullFacts, sink *progressSink) (string, error) {
	opts := &copy.Options{SourceCtx: srcSys, DestinationCtx: destSys}
	var resolved types.ImageReference
	opts.ReportResolvedReference = &resolved
	if sink.ch != nil {
		opts.Progress, opts.ProgressInterval = sink.ch, sink.interval
	}
	if _, err := copy.Image(ctx, policyCtx, destRef, checkedRef{ImageReference: srcRef, facts: facts}, opts); err != nil {
		return "", err
	}
	if resolved == nil {
		resolved = destRef
	}
	img, err := istorage.Transport.GetStoreImage(s.store, resolved)
	if err != nil {
		return "", errdefs.New(errdefs.ErrInternal, "find pulled image %s: %w", destRef.DockerReference(), err)
	}
	return img.ID, nil
}

// watchProgress returns a progress channel for copy.Options, hands each
// event to each (when set) and cancels the pull with errNoProgress when no
// event (bytes read, blob started or done) arrives for timeout (0: never).
// stop must be called after copy.Image returns.
func watchProgress(timeout time.Duration, cancel context.CancelCauseFunc, each func(types.ProgressProperties)) (chan types.ProgressProperties, time.Duration, func()) {
	ch := make(chan types.ProgressProperties, 16)
	interval := time.Second
	if timeout > 0 {
		interval = min(max(timeout/4, 50*time.Millisecond), time.Second)
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var expired <-chan time.Time // nil: no watchdog
		timer := time.NewTimer(max(timeout, time.Hour))
		defer timer.Stop()
		if timeout > 0 {
			expired = timer.C
		}
		for {
			select {
			case p, ok := <-ch:
				if !ok {
					return
				}
				if each != nil {
					each(p)
				}
				if timeout > 0 {
					timer.Reset(timeout)
				}
			case <-expired:
				cancel(fmt.Errorf("%w for %v (pull_progress_timeout)", errNoProgress, timeout))
				for range ch { // keep copy.Image from blocking until it returns
				}
				return
			}
		}
	}()
	return ch, interval, func() { close(ch); <-finished }
}

// applyAuth puts CRI credentials into sys and returns a key that separates
// pulls made with different credentials.
func applyAuth(sys *types.SystemContext, auth *runtimeapi.AuthConfig) (string, error) {
	if auth == nil {
		return "", nil
	}
	user, pass := auth.GetUsername(), auth.GetPassword()
	if a := auth.GetAuth(); a != "" {
		dec, err := base64.StdEncoding.DecodeString(a)
		if err != nil {
			return "", errdefs.Invalid("", "auth config: auth is not base64: %w", err)
		}
		var ok bool
		user, pass, ok = strings.Cut(string(dec), ":")
		if !ok {
			return "", errdefs.Invalid("", "auth config: auth is not base64(user:password)")
		}
	}
	switch {
	case auth.GetRegistryToken() != "":
		sys.DockerBearerRegistryToken = auth.GetRegistryToken()
	case auth.GetIdentityToken() != "":
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: user, IdentityToken: auth.GetIdentityToken()}
	case user != "" || pass != "":
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: user, Password: pass}
	default:
		return "", nil
	}
	return fmt.Sprintf("%s:%s:%s:%s", user, pass, auth.GetIdentityToken(), auth.GetRegistryToken()), nil
}

// withInsecure returns sys, or a copy that skips TLS verification (and
// allows plain HTTP) when registry is listed in Options.InsecureRegistries.
func (s *Service) withInsecure(sys *types.SystemContext, registry string) *types.SystemContext {
	if !matchInsecure(s.opts.InsecureRegistries, registry) {
		return sys
	}
	c := *sys
	c.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	return &c
}

func matchInsecure(list []string, registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	for _, e := range list {
		e = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(e, "https://"), "http://"), "/")
		if e == registry || e == host {
			return true
		}
		if _, cidr, err := net.ParseCIDR(e); err == nil && ip != nil && cidr.Contains(ip) {
			return true
		}
	}
	return false
}

// layerOrder lists the image's layer blob digests, bottom first.
func (s *Service) layerOrder(id string) []string {
	mb, err := s.store.ImageBigData(id, storage.ImageDigestBigDataKey)
	if err != nil {
		return nil
	}
	m, err := manifest.FromBlob(mb, manifest.GuessMIMEType(mb))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range m.LayerInfos() {
		out = append(out, l.Digest.String())
	}
	return out
}
