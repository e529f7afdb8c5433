package server

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
)

// creations are the pod and container creations in progress, by the name
// they reserve, with the stage each is at. A kubelet whose create timed
// out repeats it with the same name while the first still runs; that
// request is refused (the name is taken) and counted at the first one's
// stage, as CRI-O's resources_stalled_at_stage counts its waits.
type creations struct {
	mu sync.Mutex
	m  map[string]*creation
}

type creation struct {
	mu    sync.Mutex
	stage string
}

func (c *creation) set(stage string) {
	c.mu.Lock()
	c.stage = stage
	c.mu.Unlock()
}

func (c *creation) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stage
}

// begin records a creation of name at stage; end forgets it. When name is
// already being created, the returned creation is not recorded.
func (cs *creations) begin(name, stage string) (own *creation, end func()) {
	own = &creation{stage: stage}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*creation{}
	}
	if _, busy := cs.m[name]; busy {
		return own, func() {}
	}
	cs.m[name] = own
	return own, func() {
		cs.mu.Lock()
		delete(cs.m, name)
		cs.mu.Unlock()
	}
}

// stalledAt is the stage of another request's creation of name in
// progress, when err says the name is taken.
func (cs *creations) stalledAt(name string, own *creation, err error) (string, bool) {
	if status.Code(err) != codes.AlreadyExists {
		return "", false
	}
	cs.mu.Lock()
	other, ok := cs.m[name]
	cs.mu.Unlock()
	if !ok || other == own {
		return "", false
	}
	return other.get(), true
}

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

// countStalled counts and logs a create refused because the same name is
// still being created by another request.
func (s *Server) countStalled(ctx context.Context, what, name string, own *creation, err error) {
	o := s.obs()
	if stage, ok := o.creating.stalledAt(name, own, err); ok {
		o.metrics.Stalled(stage)
		logging.From(ctx).InfoContext(ctx, "Creation not yet finished by an earlier request", "kind", what, "name", name, "stage", stage)
	}
}
