package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/sandbox"
	ocispec "github.com/crio-runtime/crio/internal/spec"
	"github.com/crio-runtime/crio/internal/stats"
)

// podResourcesKind is the state store kind of the recorded pod resources.
const podResourcesKind = "pod-resources"

// podResourcesRecord is the last UpdatePodSandboxResources of a pod.
type podResourcesRecord struct {
	PodID     string          `json:"podId"`
	Overhead  json.RawMessage `json:"overhead,omitempty"`  // protojson LinuxContainerResources
	Resources json.RawMessage `json:"resources,omitempty"` // protojson LinuxContainerResources
	// Applied says whether the pod cgroup existed and took the limits.
	Applied   bool  `json:"applied"`
	UpdatedAt int64 `json:"updatedAt"`
}

// UpdatePodSandboxResources applies the pod's new resources (plus its
// overhead) to the pod cgroup when the pod has one, and records them.
func (s *Server) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	if req.PodSandboxId == "" {
		return nil, status.Error(codes.InvalidArgument, "pod_sandbox_id is required")
	}
	if err := validatePodResources(req.Resources, "resources."); err != nil {
		return nil, err
	}
	if err := validatePodResources(req.Overhead, "overhead."); err != nil {
		return nil, err
	}
	sb, err := s.pods.Get(req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if err := s.nri.UpdatePodSandbox(ctx, sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	if err := s.applyPodResources(ctx, sb, req.Overhead, req.Resources); err != nil {
		return nil, err
	}
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}

// validatePodResources makes the checks CreateContainer makes of
// container resources (one implementation, in internal/spec).
func validatePodResources(r *runtimeapi.LinuxContainerResources, field string) error {
	return ocispec.ValidateResources(r, field)
}

func marshalResources(r *runtimeapi.LinuxContainerResources) (json.RawMessage, error) {
	if r == nil {
		return nil, nil
	}
	return protojson.Marshal(r)
}

func toStatsResources(r *runtimeapi.LinuxContainerResources) stats.Resources {
	if r == nil {
		return stats.Resources{}
	}
	return stats.Resources{
		CPUShares: uint64(r.CpuShares), CPUQuota: r.CpuQuota, CPUPeriod: uint64(r.CpuPeriod),
		MemoryLimit: r.MemoryLimitInBytes, CpusetCpus: r.CpusetCpus, CpusetMems: r.CpusetMems, Unified: r.Unified,
	}
}

// loadPodResources reads the records back at start-up.
func (o *observability) loadPodResources(s *Server) {
	_ = s.store.List(podResourcesKind, func(id string, data []byte) error {
		rec := &podResourcesRecord{}
		if json.Unmarshal(data, rec) == nil {
			o.podRes[id] = rec
		}
		return nil
	})
	o.gcPodResources(s)
}

// gcPodResources forgets the records of removed pods.
func (o *observability) gcPodResources(s *Server) {
	o.podResMu.Lock()
	defer o.podResMu.Unlock()
	for id := range o.podRes {
		if !s.pods.Exists(id) { // a pod not yet handed out keeps its record
			delete(o.podRes, id)
			_ = s.store.Delete(podResourcesKind, id)
		}
	}
}

// dropPodResources forgets the record of a removed pod. Records on disk
// are loaded when observability starts (and those of gone pods collected
// then), so a pod without an entry in memory has no record to drop.
func (s *Server) dropPodResources(podID string) error {
	s.obsMu.Lock()
	o := s.obsState
	s.obsMu.Unlock()
	if o == nil {
		return nil
	}
	o.podResMu.Lock()
	defer o.podResMu.Unlock()
	if _, ok := o.podRes[podID]; !ok {
		return nil
	}
	delete(o.podRes, podID)
	return s.store.Delete(podResourcesKind, podID)
}

// applyPodResources applies resources plus overhead to the pod cgroup when
// it exists and records them; RunPodSandbox and UpdatePodSandboxResources
// share it.
func (s *Server) applyPodResources(ctx context.Context, sb *sandbox.Sandbox, overhead, resources *runtimeapi.LinuxContainerResources) error {
	var err error
	o := s.obs()
	rec := &podResourcesRecord{PodID: sb.ID, UpdatedAt: time.Now().UnixNano()}
	if rec.Overhead, err = marshalResources(overhead); err != nil {
		return err
	}
	if rec.Resources, err = marshalResources(resources); err != nil {
		return err
	}
	total := toStatsResources(resources).Add(toStatsResources(overhead))
	rel, err := stats.PodCgroup(sb.CgroupParent, s.Config().Crio.Runtime.CgroupManager)
	if err != nil {
		return status.Errorf(codes.FailedPrecondition, "pod cgroup parent: %v", err)
	}
	switch err := o.layout.Apply(rel, total); {
	case errors.Is(err, stats.ErrNoCgroup):
		logging.From(ctx).Debug("pod has no cgroup yet; resources recorded only", "pod", sb.ID, "cgroupParent", sb.CgroupParent)
	case err != nil:
		return status.Errorf(codes.Unknown, "update pod cgroup %s: %v", rel, err)
	default:
		rec.Applied = true
	}
	if err := s.store.Put(podResourcesKind, sb.ID, rec); err != nil {
		return err
	}
	o.podResMu.Lock()
	o.podRes[sb.ID] = rec
	o.podResMu.Unlock()
	o.gcPodResources(s)
	return nil
}
