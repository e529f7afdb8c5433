// Package container is the container model and lifecycle: create (spec,
// rootfs, monitor), start, stop, remove, exec, and exit tracking that
// survives daemon restarts.
package container

import (
	"sync"
	"sync/atomic"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/encoding/protojson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Record is what is persisted of a container, one JSON file per
// container (the fields are flattened into Container's JSON, so records
// written before Record existed load unchanged). Readers outside this
// package take a copy with Container.Status.
type Record struct {
	ID         string                `json:"id"`
	PodID      string                `json:"podId"`
	Config     *Config               `json:"config"`
	Handler    string                `json:"handler"`
	CreatedAt  int64                 `json:"createdAt"`
	StartedAt  int64                 `json:"startedAt,omitempty"`
	FinishedAt int64                 `json:"finishedAt,omitempty"`
	Started    bool                  `json:"started"`
	Exited     bool                  `json:"exited"`
	ExitCode   int32                 `json:"exitCode"`
	OOMKilled  bool                  `json:"oomKilled,omitempty"`
	Reason     string                `json:"reason,omitempty"`
	Message    string                `json:"message,omitempty"`
	ImageID    string                `json:"imageId"`
	ImageRef   string                `json:"imageRef"`
	ImageName  string                `json:"imageName"`
	LogPath    string                `json:"logPath"`
	Bundle     string                `json:"bundle"`
	AttachDir  string                `json:"attachDir"`
	Pid        int                   `json:"pid"`
	MonitorPid int                   `json:"monitorPid"`
	StopSignal string                `json:"stopSignal"`
	User       *UserRecord           `json:"user,omitempty"`
	Resources  *specs.LinuxResources `json:"resources,omitempty"`
	// ImageMounts are the ids of images mounted for CRI image volumes;
	// ImageMountRefs maps each volume's reference to its image id, which
	// ContainerStatus reports per image mount.
	ImageMounts    []string          `json:"imageMounts,omitempty"`
	ImageMountRefs map[string]string `json:"imageMountRefs,omitempty"`
	// MonitorStart is the monitor's start time, which makes MonitorPid an
	// identity (see internal/proc).
	MonitorStart uint64 `json:"monitorStart,omitempty"`
	// PidStart is the container process's start time: a TARGET PID
	// namespace is reached through Pid only while it still names it.
	PidStart uint64 `json:"pidStart,omitempty"`
}

// Container is one container: its record and what only lives in memory.
type Container struct {
	Record

	spec *specs.Spec // loaded from the bundle
	mu   sync.Mutex  // guards the record fields (and seq)
	opMu sync.Mutex  // serialises start, stop and remove
	// seq numbers the record's encodings (see encode); writeMu serialises
	// their writes and guards written (the newest on disk) and recordGone.
	seq        uint64
	writeMu    sync.Mutex
	written    uint64
	recordGone bool
	// hidden: created but not yet handed to a client (see Publish).
	hidden atomic.Bool
	// exited is closed once the exit record has been read.
	exitCh chan struct{}
}

// UserRecord is the resolved user reported in ContainerStatus.
type UserRecord struct {
	UID, GID           int64
	SupplementalGroups []int64
}

// Metadata is the CRI metadata.
func (c *Container) Metadata() *runtimeapi.ContainerMetadata { return c.Config.GetMetadata() }

// Status copies the record under the lock.
func (c *Container) Status() Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Record
}

// State is the CRI state.
func (s Record) State() runtimeapi.ContainerState {
	switch {
	case s.Exited:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	case s.Started:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	default:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	}
}

// Running reports whether the process is (believed) alive.
func (s Record) Running() bool { return s.Started && !s.Exited }

// State is the container's CRI state (takes the lock).
func (c *Container) State() runtimeapi.ContainerState { return c.Status().State() }

// Running reports whether the process is (believed) alive (takes the lock).
func (c *Container) Running() bool { return c.Status().Running() }

// Spec is the container's OCI spec.
func (c *Container) Spec() *specs.Spec { return c.spec }

func (c *Container) markExited(code int32, finished time.Time, oom bool, reason string) {
	c.Exited, c.ExitCode, c.FinishedAt, c.OOMKilled = true, code, finished.UnixNano(), oom
	switch {
	case reason != "":
		c.Reason = reason
	case oom:
		c.Reason = "OOMKilled"
	case code == 0:
		c.Reason = "Completed"
	default:
		c.Reason = "Error"
	}
	if c.exitCh != nil {
		select {
		case <-c.exitCh:
		default:
			close(c.exitCh)
		}
	}
}

// Config persists a ContainerConfig as protobuf JSON (every field kept).
type Config struct {
	*runtimeapi.ContainerConfig
}

// MarshalJSON encodes with protojson.
func (p *Config) MarshalJSON() ([]byte, error) { return protojson.Marshal(p.ContainerConfig) }

// UnmarshalJSON decodes protojson.
func (p *Config) UnmarshalJSON(b []byte) error {
	p.ContainerConfig = &runtimeapi.ContainerConfig{}
	return protojson.Unmarshal(b, p.ContainerConfig)
}
