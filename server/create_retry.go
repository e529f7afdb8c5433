package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

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
			Discard: discard("pod sandbox", s.discardUnclaimedPod)}
		r.ctrs = &pending.Cache[string]{Keep: keep, Limit: limit, Stalled: s.countStalled,
			Discard: discard("container", s.discardUnclaimedContainer)}
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

// A kubelet whose create timed out repeats it with the same name while the
// first may still run; such a repeat waits for the first (see
// create_retry.go) and is counted at the stage the first is at, as CRI-O's
// resources_stalled_at_stage counts its waits.

func podCreationName(md *runtimeapi.PodSandboxMetadata) string {
	return fmt.Sprintf("pod/%s_%s_%s_%d", md.GetName(), md.GetNamespace(), md.GetUid(), md.GetAttempt())
}

func containerCreationName(podID string, md *runtimeapi.ContainerMetadata) string {
	return fmt.Sprintf("container/%s/%s_%d", podID, md.GetName(), md.GetAttempt())
}

// podStageAfter names the stage a pod creation is at once stage is done.
func podStageAfter(stage string) string {
	switch stage {
	case "namespaces":
		return "sandbox network creation"
	case "cni_add":
		return "sandbox network ready"
	}
	return "sandbox " + stage
}

// countStalled counts and logs a repeated create that found the first one
// still running at stage.
func (s *Server) countStalled(name, stage string) {
	s.obs().metrics.Stalled(stage)
	s.log.Info("Creation not yet finished by an earlier request; waiting for it", "name", name, "stage", stage)
}
