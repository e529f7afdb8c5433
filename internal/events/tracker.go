package events

import (
	"sort"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// State is what the tracker needs to know of a container or, with
// Sandbox set, of a pod (ID == PodID; Started once ready, Exited once
// stopped).
type State struct {
	ID, PodID string
	Sandbox   bool
	// PodMeta is kept for the events of a pod or container that is gone:
	// the kubelet reads the pod's UID from every event.
	PodMeta    *runtimeapi.PodSandboxMetadata
	Started    bool
	Exited     bool
	CreatedAt  int64
	StartedAt  int64
	FinishedAt int64
}

// Change is one lifecycle step of a container or pod.
type Change struct {
	ID, PodID string
	Type      runtimeapi.ContainerEventType
	At        int64 // nanoseconds since the epoch
	Sandbox   bool
	PodMeta   *runtimeapi.PodSandboxMetadata
}

func change(s State, typ runtimeapi.ContainerEventType, at int64) Change {
	return Change{ID: s.ID, PodID: s.PodID, Type: typ, At: at, Sandbox: s.Sandbox, PodMeta: s.PodMeta}
}

const (
	created = runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT
	started = runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT
	stopped = runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT
	deleted = runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT
)

// Tracker turns successive snapshots of the containers into lifecycle
// changes. Deriving events from state (rather than from each code path
// that changes it) means none is missed: an exit applied by the exit
// watcher, by a status read or at restore all look the same, and steps
// that happened between two snapshots are filled in, in order.
type Tracker struct {
	mu    sync.Mutex
	known map[string]State
}

// NewTracker starts from baseline (the containers present at start-up,
// which produce no events until they change).
func NewTracker(baseline []State) *Tracker {
	t := &Tracker{known: make(map[string]State, len(baseline))}
	for _, s := range baseline {
		t.known[s.ID] = s
	}
	return t
}

// Diff compares cur with the last snapshot and returns the changes in
// the order they happened (per container: created, started, stopped,
// deleted; across containers by time).
func (t *Tracker) Diff(cur []State, now time.Time) []Change {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Change
	seen := make(map[string]bool, len(cur))
	for _, s := range cur {
		seen[s.ID] = true
		old, had := t.known[s.ID]
		if !had {
			out = append(out, change(s, created, s.CreatedAt))
		}
		if s.Started && !old.Started {
			out = append(out, change(s, started, nonZero(s.StartedAt, s.CreatedAt)))
		}
		if s.Exited && !old.Exited {
			out = append(out, change(s, stopped, nonZero(s.FinishedAt, now.UnixNano())))
		}
		t.known[s.ID] = s
	}
	for id, s := range t.known {
		if !seen[id] {
			if !s.Exited {
				out = append(out, change(s, stopped, now.UnixNano()))
			}
			out = append(out, change(s, deleted, now.UnixNano()))
			delete(t.known, id)
		}
	}
	// Times within one container never go backwards (a clock step must
	// not reorder its steps); then order everything by time.
	last := map[string]int64{}
	for i := range out {
		if prev, ok := last[out[i].ID]; ok && out[i].At < prev {
			out[i].At = prev
		}
		last[out[i].ID] = out[i].At
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.At != b.At {
			return a.At < b.At
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Type < b.Type
	})
	return out
}

func nonZero(v, fallback int64) int64 {
	if v != 0 {
		return v
	}
	return fallback
}
