package events

import (
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
)

// FeedOptions are what a Feed watches and how its events are filled in.
type FeedOptions struct {
	Pods       *sandbox.Manager
	Containers *container.Manager
	// PodStatus and ContainerStatus are the statuses an event carries:
	// the ones PodSandboxStatus and ContainerStatus answer.
	PodStatus       func(*sandbox.Sandbox) *runtimeapi.PodSandboxStatus
	ContainerStatus func(*container.Container) *runtimeapi.ContainerStatus
	// Observe (may be nil) sees every change, in order, before it is
	// published: the metrics count starts and exits there.
	Observe func(Change)
	// OnDrop (may be nil) is called for every event a subscriber missed.
	OnDrop func()
}

// Feed derives the CRI container events from the pods and containers the
// managers hold, and publishes them to GetContainerEvents subscribers.
type Feed struct {
	opts    FeedOptions
	mu      sync.Mutex // one diff-and-publish at a time, so events keep their order
	tracker *Tracker
	broker  *Broker
}

// NewFeed starts from the pods and containers that exist now: they
// produce no events until they change.
func NewFeed(opts FeedOptions) *Feed {
	f := &Feed{opts: opts, broker: NewBroker(DefaultBuffer, opts.OnDrop)}
	f.tracker = NewTracker(f.states())
	return f
}

// Subscribe returns a queue of the events published from now on.
func (f *Feed) Subscribe() *Subscription { return f.broker.Subscribe() }

// Publish diffs the pods and containers against the last call and
// publishes the changes.
func (f *Feed) Publish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.tracker.Diff(f.states(), time.Now()) {
		if f.opts.Observe != nil {
			f.opts.Observe(ch)
		}
		if f.broker.Subscribers() > 0 {
			f.broker.Publish(f.event(ch))
		}
	}
}

// states lists the pods (a pod is started once it exists, as
// RunPodSandbox returns it ready, and stopped once not ready) and the
// containers, for the tracker.
func (f *Feed) states() []State {
	pods, snap := f.opts.Pods.List(), f.opts.Containers.Snapshot()
	out := make([]State, 0, len(pods)+len(snap))
	meta := make(map[string]*runtimeapi.PodSandboxMetadata, len(pods))
	for _, sb := range pods {
		meta[sb.ID] = sb.Metadata()
		out = append(out, State{
			ID: sb.ID, PodID: sb.ID, Sandbox: true, PodMeta: sb.Metadata(),
			Started: true, Exited: sb.State() != runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: sb.CreatedAt,
		})
	}
	for _, c := range snap {
		cs := c.Status()
		out = append(out, State{
			ID: c.ID, PodID: c.PodID, PodMeta: meta[c.PodID], Started: cs.Started, Exited: cs.Exited,
			CreatedAt: c.CreatedAt, StartedAt: cs.StartedAt, FinishedAt: cs.FinishedAt,
		})
	}
	return out
}

// event is the CRI event for a change of a container or a pod (then
// ContainerId is the pod's id, as containerd sends it), with the pod's
// current status and the statuses of its containers.
func (f *Feed) event(ch Change) *Event {
	ev := &Event{ContainerId: ch.ID, ContainerEventType: ch.Type, CreatedAt: ch.At}
	if sb, err := f.opts.Pods.Get(ch.PodID); err == nil {
		ev.PodSandboxStatus = f.opts.PodStatus(sb)
	} else {
		// The pod is gone: report it so, with the metadata the kubelet
		// reads the pod's UID from.
		ev.PodSandboxStatus = &runtimeapi.PodSandboxStatus{Id: ch.PodID, Metadata: ch.PodMeta, State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}
	}
	for _, c := range f.opts.Containers.Snapshot() {
		if c.PodID == ch.PodID {
			ev.ContainersStatuses = append(ev.ContainersStatuses, f.opts.ContainerStatus(c))
		}
	}
	return ev
}
