package server

import (
	"context"
	"encoding/json"

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
		info, err := json.Marshal(map[string]any{
			"pid": c.Pid, "monitorPid": c.MonitorPid, "sandboxID": c.PodID, "runtimeHandler": c.Handler,
			"bundle": c.Bundle, "runtimeSpec": c.Spec(),
			"privileged": c.Config.GetLinux().GetSecurityContext().GetPrivileged(),
		})
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
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
