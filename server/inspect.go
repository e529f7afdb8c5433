package server

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/inspect"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/pkg/config"
)

// InspectHandler serves CRI-O's HTTP API (see internal/inspect).
func (s *Server) InspectHandler() http.Handler { return inspect.Handler(inspectSource{s}) }

type inspectSource struct{ s *Server }

// Info reports no default ID mappings: containers get none unless their
// pod asks for a user namespace.
func (src inspectSource) Info() inspect.Info {
	cfg := src.s.Config().Crio
	return inspect.Info{
		StorageDriver: src.s.StorageDriver(), StorageRoot: cfg.Root, StorageImage: cfg.ImageStore,
		CgroupDriver:      cfg.Runtime.CgroupManager,
		DefaultIDMappings: inspect.IDMappings{Uids: []inspect.IDMap{}, Gids: []inspect.IDMap{}},
	}
}

func (src inspectSource) Config() ([]byte, error) {
	var b bytes.Buffer
	if err := src.s.Config().Write(&b, config.Default()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Container answers for a container, or for a pod by its id (as CRI-O's
// infra container, named POD), the pod's pause process as its pid. A full
// id finds one still being created (cAdvisor asks as soon as its cgroup
// appears); a unique prefix, as in CRI-O, one handed out.
func (src inspectSource) Container(id string) (*inspect.Container, error) {
	s := src.s
	c, ok := s.containers.Lookup(id)
	if !ok {
		c, _ = s.containers.Get(id)
	}
	if c != nil {
		sb, _ := s.pods.Lookup(c.PodID)
		return inspectContainer(c, sb), nil
	}
	sb, ok := s.pods.Lookup(id)
	if !ok {
		sb, _ = s.pods.Get(id)
	}
	if sb != nil {
		return inspectPod(sb, src.podPID(sb)), nil
	}
	return nil, errdefs.NotFound("container %q not found", id)
}

func inspectContainer(c *container.Container, sb *sandbox.Sandbox) *inspect.Container {
	st := c.Status()
	out := &inspect.Container{
		Name: kubeName(c.Metadata().GetName(), c.Metadata().GetAttempt(), sb), Image: st.ImageName, ImageRef: st.ImageRef,
		CreatedTime: st.CreatedAt, Labels: orEmpty(c.Config.Labels), Annotations: orEmpty(c.Config.Annotations),
		CrioAnnotations: map[string]string{}, LogPath: st.LogPath, Sandbox: c.PodID, IPs: []string{},
	}
	if !st.Exited {
		out.Pid = st.Pid
	}
	if sp := c.Spec(); sp != nil {
		if sp.Root != nil {
			out.Root = sp.Root.Path
		}
		maps.Copy(out.CrioAnnotations, sp.Annotations)
	}
	if sb != nil {
		out.IPs = append(out.IPs, sb.IPs...)
	}
	return out
}

// podPID is the process cAdvisor reads a pod's network from
// (/proc/<pid>/net/dev): the infra's, or, for a pod without one (its
// stats cgroup, internal/sandbox/stats_cgroup.go), its oldest running
// container's, still the process recorded at its start, as CRI-O does. 0
// when none runs; cAdvisor asks again while it has no pid, or when that
// pid shows no interfaces (the container exited).
func (src inspectSource) podPID(sb *sandbox.Sandbox) int {
	if sb.HasInfra() {
		if sb.InfraRunning() {
			return sb.InfraPID
		}
		return 0
	}
	var pid int
	var created int64
	for _, c := range src.s.containers.List() {
		if c.PodID != sb.ID {
			continue
		}
		st := c.Status()
		if !st.Running() || st.Pid == 0 || (pid != 0 && st.CreatedAt >= created) || !proc.Same(st.Pid, st.PidStart) {
			continue
		}
		pid, created = st.Pid, st.CreatedAt
	}
	return pid
}

// inspectPod is a pod as CRI-O's infra container: the pod's labels plus
// the container name POD, which tells cAdvisor to count the pod's network
// there.
func inspectPod(sb *sandbox.Sandbox, pid int) *inspect.Container {
	labels := orEmpty(sb.Config.Labels)
	labels = maps.Clone(labels)
	labels["io.kubernetes.container.name"] = "POD"
	out := &inspect.Container{
		Name: kubeName("POD", sb.Metadata().GetAttempt(), sb), CreatedTime: sb.CreatedAt,
		Labels: labels, Annotations: orEmpty(sb.Config.Annotations), CrioAnnotations: map[string]string{},
		Sandbox: sb.ID, IPs: append([]string{}, sb.IPs...),
	}
	out.Pid = pid
	return out
}

// kubeName is CRI-O's (and dockershim's) name of a pod's container:
// k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
func kubeName(name string, attempt uint32, sb *sandbox.Sandbox) string {
	var md *runtimeapi.PodSandboxMetadata // nil (a pod removed meanwhile) names ""
	if sb != nil {
		md = sb.Metadata()
	}
	return fmt.Sprintf("k8s_%s_%s_%s_%s_%d", name, md.GetName(), md.GetNamespace(), md.GetUid(), attempt)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
