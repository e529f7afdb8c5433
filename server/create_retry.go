package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/pending"
)

// keepUnclaimed is how long a pod or container whose RunPodSandbox or
// CreateContainer client gave up waits for the kubelet's repeat (CRI-O
// keeps them one to two minutes). detachedLimit bounds such a creation
// beyond the client's own deadline.
const (
	keepUnclaimed = 2 * time.Minute
	detachedLimit = 4 * time.Minute
)

// These override keepUnclaimed and detachedLimit (Go durations). Test-only:
// the integration tests shorten them to see an unclaimed pod removed and a
// hung runtime ended.
const (
	keepUnclaimedEnv = "CRIO_TEST_UNCLAIMED_KEEP"
	detachedLimitEnv = "CRIO_TEST_CREATE_LIMIT"
)

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// retries are the pod and container creations in progress, and the
// finished ones no client has claimed yet, by the name they reserve.
type retries struct {
	once       sync.Once
	pods, ctrs *pending.Cache[string]
}

func (s *Server) creations() *retries {
	r := &s.retry
	r.once.Do(func() {
		keep, limit := envDuration(keepUnclaimedEnv, keepUnclaimed), envDuration(detachedLimitEnv, detachedLimit)
		discard := func(what string, remove func(context.Context, string) error) func(string, string) {
			return func(name, id string) {
				ctx := logging.WithLogger(context.Background(), s.log)
				s.log.Info("Removing a "+what+" no repeated request claimed", "name", name, "id", id)
				if err := remove(ctx, id); err != nil {
					s.log.Error("remove unclaimed "+what, "name", name, "id", id, "error", err)
				}
			}
		}
		r.pods = &pending.Cache[string]{Keep: keep, Limit: limit, Stalled: s.countStalled,
			Discard: discard("pod sandbox", s.discardPod)}
		r.ctrs = &pending.Cache[string]{Keep: keep, Limit: limit, Stalled: s.countStalled,
			Discard: discard("container", s.containers.Discard)}
	})
	return r
}

func (s *Server) discardPod(ctx context.Context, id string) error {
	if sb, ok := s.pods.Lookup(id); ok {
		s.unmountPodLogs(ctx, sb) // mounted before the pod was handed out
	}
	if err := s.pods.Discard(ctx, id); err != nil {
		return err
	}
	return s.dropPodResources(id)
}

// requestDigest identifies a request's content: a repeat with the same
// name but another digest is a different request.
func requestDigest(m proto.Message) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "" // never equal to a real digest's form below
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// createError maps what pending.Cache.Do returns to the CRI's codes.
func createError(err error, what, name string) error {
	switch {
	case errors.Is(err, pending.ErrBusy):
		return status.Errorf(codes.AlreadyExists, "%s %s is being created by another request", what, name)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.FromContextError(err).Err()
	}
	return err
}
