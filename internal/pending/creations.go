package pending

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
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

// Creations are the pod and container creations in progress, and the
// finished ones no client has claimed yet, by the name they reserve.
type Creations struct {
	Pods, Containers *Cache[string]
}

// CreationsOptions say how unclaimed creations are undone and stalls counted.
type CreationsOptions struct {
	Log *slog.Logger
	// Stalled counts a repeated create that found the first one still
	// running at stage (CRI-O's resources_stalled_at_stage).
	Stalled                      func(stage string)
	DiscardPod, DiscardContainer func(ctx context.Context, id string) error
}

// NewCreations returns empty caches for pods and containers.
func NewCreations(o CreationsOptions) *Creations {
	keep, limit := envDuration(keepUnclaimedEnv, keepUnclaimed), envDuration(detachedLimitEnv, detachedLimit)
	discard := func(what string, remove func(context.Context, string) error) func(string, string) {
		return func(name, id string) {
			ctx := logging.WithLogger(context.Background(), o.Log)
			o.Log.Info("Removing a "+what+" no repeated request claimed", "name", name, "id", id)
			if err := remove(ctx, id); err != nil {
				o.Log.Error("remove unclaimed "+what, "name", name, "id", id, "error", err)
			}
		}
	}
	stalled := func(name, stage string) {
		o.Stalled(stage)
		o.Log.Info("Creation not yet finished by an earlier request; waiting for it", "name", name, "stage", stage)
	}
	return &Creations{
		Pods:       &Cache[string]{Keep: keep, Limit: limit, Stalled: stalled, Discard: discard("pod sandbox", o.DiscardPod)},
		Containers: &Cache[string]{Keep: keep, Limit: limit, Stalled: stalled, Discard: discard("container", o.DiscardContainer)},
	}
}

// RequestDigest identifies a request's content: a repeat with the same
// name but another digest is a different request.
func RequestDigest(m proto.Message) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "" // never equal to a real digest's form below
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CreateError is what Cache.Do returned, as the CRI expects it: a clash
// with another request in progress is AlreadyExists.
func CreateError(err error, what, name string) error {
	if errors.Is(err, ErrBusy) {
		return errdefs.AlreadyExists("%s %s is being created by another request", what, name)
	}
	return err
}

// A kubelet whose create timed out repeats it with the same name while the
// first may still run; such a repeat waits for the first and is counted at
// the stage the first is at, as CRI-O's resources_stalled_at_stage counts
// its waits.

// PodName is the name a pod creation reserves.
func PodName(md *runtimeapi.PodSandboxMetadata) string {
	return fmt.Sprintf("pod/%s_%s_%s_%d", md.GetName(), md.GetNamespace(), md.GetUid(), md.GetAttempt())
}

// ContainerName is the name a container creation reserves.
func ContainerName(podID string, md *runtimeapi.ContainerMetadata) string {
	return fmt.Sprintf("container/%s/%s_%d", podID, md.GetName(), md.GetAttempt())
}

// PodStageAfter names the stage a pod creation is at once stage is done.
func PodStageAfter(stage string) string {
	switch stage {
	case "namespaces":
		return "sandbox network creation"
	case "cni_add":
		return "sandbox network ready"
	}
	return "sandbox " + stage
}
