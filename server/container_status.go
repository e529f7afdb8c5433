package server

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"weak"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
)

// ContainerStatus reports a container's state, exit, image, mounts and user.
func (s *Server) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, err := s.containers.Status(req.ContainerId)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: containerStatus(c)}
	if req.Verbose {
		info, err := verboseInfo(c)
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": info}
	}
	return resp, nil
}

// containerInfo is the verbose status (crictl inspect), its keys in
// sorted order as a map would give them.
type containerInfo struct {
	Bundle         string          `json:"bundle"`
	MonitorPid     int             `json:"monitorPid"`
	Pid            int             `json:"pid"`
	Privileged     bool            `json:"privileged"`
	RuntimeHandler string          `json:"runtimeHandler"`
	RuntimeSpec    json.RawMessage `json:"runtimeSpec"` // a placeholder, see verboseInfo
	SandboxID      string          `json:"sandboxID"`
}

// verboseInfo is c's verbose status as JSON. The runtime spec, most of
// it, is marshaled once (specJSON) and spliced in: encoding/json would
// re-scan a RawMessage of its size, and encoding it anew each time costs
// a verbose status call more CPU than the rest of the call.
func verboseInfo(c *container.Container) (string, error) {
	return encodeInfo(containerInfo{
		Bundle: c.Bundle, MonitorPid: c.MonitorPid, Pid: c.Pid, RuntimeHandler: c.Handler, SandboxID: c.PodID,
		Privileged: c.Config.GetLinux().GetSecurityContext().GetPrivileged(),
	}, c.Spec())
}

func encodeInfo(info containerInfo, sp *specs.Spec) (string, error) {
	spec, err := specJSON(sp)
	if err != nil {
		return "", err
	}
	info.RuntimeSpec = json.RawMessage("0")
	head, err := json.Marshal(&info)
	if err != nil {
		return "", err
	}
	const key = `"runtimeSpec":`
	i := bytes.Index(head, []byte(key+"0,")) + len(key)
	var b strings.Builder
	b.Grow(len(head) + len(spec))
	b.Write(head[:i])
	b.Write(spec)
	b.Write(head[i+1:])
	return b.String(), nil
}

// specJSONs hold each live container's runtime spec as JSON, keyed by the
// spec (never changed after create); an entry goes when its spec is
// collected.
var specJSONs sync.Map // weak.Pointer[specs.Spec] -> []byte

func specJSON(sp *specs.Spec) ([]byte, error) {
	if sp == nil {
		return []byte("null"), nil
	}
	k := weak.Make(sp)
	if b, ok := specJSONs.Load(k); ok {
		return b.([]byte), nil
	}
	b, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	if _, loaded := specJSONs.LoadOrStore(k, b); !loaded {
		runtime.AddCleanup(sp, func(k weak.Pointer[specs.Spec]) { specJSONs.Delete(k) }, k)
	}
	return b, nil
}

func containerStatus(c *container.Container) *runtimeapi.ContainerStatus {
	cfg, cs := c.Config, c.Status()
	st := &runtimeapi.ContainerStatus{
		Id: c.ID, Metadata: c.Metadata(), State: cs.State(),
		CreatedAt: c.CreatedAt, StartedAt: cs.StartedAt, FinishedAt: cs.FinishedAt, ExitCode: cs.ExitCode,
		Image:    &runtimeapi.ImageSpec{Image: c.ImageName, UserSpecifiedImage: cfg.GetImage().GetUserSpecifiedImage()},
		ImageRef: c.ImageRef, ImageId: c.ImageID,
		Reason: cs.Reason, Message: cs.Message,
		Labels: cfg.Labels, Annotations: cfg.Annotations, Mounts: statusMounts(c), LogPath: c.LogPath,
		StopSignal: c.CRIStopSignal(),
	}
	if r := cs.Resources; r != nil {
		lr := &runtimeapi.LinuxContainerResources{}
		if r.CPU != nil {
			if r.CPU.Shares != nil {
				lr.CpuShares = int64(*r.CPU.Shares)
			}
			if r.CPU.Quota != nil {
				lr.CpuQuota = *r.CPU.Quota
			}
			if r.CPU.Period != nil {
				lr.CpuPeriod = int64(*r.CPU.Period)
			}
			lr.CpusetCpus, lr.CpusetMems = r.CPU.Cpus, r.CPU.Mems
		}
		if r.Memory != nil {
			if r.Memory.Limit != nil {
				lr.MemoryLimitInBytes = *r.Memory.Limit
			}
			if r.Memory.Swap != nil {
				lr.MemorySwapLimitInBytes = *r.Memory.Swap
			}
		}
		lr.Unified = r.Unified
		st.Resources = &runtimeapi.ContainerResources{Linux: lr}
	}
	if u := c.User; u != nil {
		st.User = &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: u.UID, Gid: u.GID, SupplementalGroups: u.SupplementalGroups}}
	}
	return st
}

// statusMounts reports the requested mounts. An image volume reports its
// image by ID in image.image, as CRI-O does, and in image.image_ref too:
// the ref PullImage returned for it, which critest's KEP-5365 spec expects.
func statusMounts(c *container.Container) []*runtimeapi.Mount {
	mounts := c.Config.Mounts
	if len(c.ImageMountRefs) == 0 {
		return mounts
	}
	out := make([]*runtimeapi.Mount, len(mounts))
	for i, m := range mounts {
		out[i] = m
		if ref := m.GetImage().GetImage(); ref != "" {
			cp := proto.Clone(m).(*runtimeapi.Mount)
			id := c.ImageMountRefs[ref]
			cp.Image.Image, cp.Image.ImageRef = id, id
			out[i] = cp
		}
	}
	return out
}
