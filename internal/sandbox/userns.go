package sandbox

import (
	"math"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// UserNS is the pod's user namespace, pinned when the pod asked for one
// (UsernsOptions mode POD): its other namespaces are created inside it.
const UserNS NS = "user"

// IDMap maps Size ids from ContainerID (inside the pod) to HostID.
type IDMap struct {
	ContainerID, HostID, Size uint32
}

// Userns is a pod's user namespace: the uid and gid mappings of the request.
type Userns struct {
	UIDs, GIDs []IDMap
}

// HostID maps a container id to the host through m; ok is false for an id
// m does not map.
func HostID(m []IDMap, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.ContainerID && uint64(id) < uint64(e.ContainerID)+uint64(e.Size) {
			return e.HostID + (id - e.ContainerID), true
		}
	}
	return 0, false
}

const usernsField = "config.linux.security_context.namespace_options.userns_options"

// ValidateUserns reads the pod's user namespace request: nil for none (mode
// NODE, today's behaviour); mode POD with one uid and one gid mapping each
// of which maps container id 0, as the kubelet sends; CONTAINER and TARGET
// are not modes of a user namespace (api.proto).
func ValidateUserns(nso *runtimeapi.NamespaceOption) (*Userns, error) {
	u := nso.GetUsernsOptions()
	if u == nil {
		return nil, nil // unset: the host's, whatever mode 0 (POD) says
	}
	switch u.GetMode() {
	case runtimeapi.NamespaceMode_NODE:
		if len(u.GetUids()) > 0 || len(u.GetGids()) > 0 {
			return nil, invalid("%s: mode NODE uses the host's ids and takes no uids or gids", usernsField)
		}
		return nil, nil
	case runtimeapi.NamespaceMode_POD:
	default:
		return nil, invalid("%s.mode: %s is not a user namespace mode (POD or NODE)", usernsField, u.GetMode())
	}
	uids, err := oneMapping("uids", u.GetUids())
	if err != nil {
		return nil, err
	}
	gids, err := oneMapping("gids", u.GetGids())
	if err != nil {
		return nil, err
	}
	// Host namespaces a user namespace cannot own: its processes could not
	// mount /proc for the host's PID namespace nor /dev/mqueue for its IPC.
	if nso.GetPid() == runtimeapi.NamespaceMode_NODE || nso.GetIpc() == runtimeapi.NamespaceMode_NODE {
		return nil, invalid("%s: a pod with its own user namespace cannot use the host's PID or IPC namespace", usernsField)
	}
	return &Userns{UIDs: uids, GIDs: gids}, nil
}

// oneMapping checks one list of mappings: exactly one range that maps
// container id 0 and leaves the host's root (host id 0) out, so root in the
// pod is never root on the host.
func oneMapping(name string, ms []*runtimeapi.IDMapping) ([]IDMap, error) {
	field := usernsField + "." + name
	if len(ms) != 1 {
		return nil, invalid("%s: need exactly one mapping, got %d", field, len(ms))
	}
	m := ms[0]
	switch {
	case m.GetLength() == 0:
		return nil, invalid("%s[0].length: must be > 0", field)
	case m.GetContainerId() != 0:
		return nil, invalid("%s[0]: container id 0 must be mapped (container_id is %d)", field, m.GetContainerId())
	case m.GetHostId() == 0:
		return nil, invalid("%s[0].host_id: 0 would map the host's root into the pod", field)
	case uint64(m.GetHostId())+uint64(m.GetLength()) > math.MaxUint32:
		return nil, invalid("%s[0]: host ids %d+%d overflow 32 bits", field, m.GetHostId(), m.GetLength())
	}
	return []IDMap{{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetLength()}}, nil
}

// Userns is the pod's user namespace request (nil when it has none); the
// request was validated when the pod ran.
func (s *Sandbox) Userns() *Userns {
	u, err := ValidateUserns(s.NamespaceOptions())
	if err != nil {
		return nil
	}
	return u
}

// checkUserns is the pod's validated user namespace request, refused with
// FailedPrecondition when the handler cannot run it (the kubelet reads the
// handler's user_namespaces feature and should not send it).
func checkUserns(nso *runtimeapi.NamespaceOption, handler string, supported bool) (*Userns, error) {
	u, err := ValidateUserns(nso)
	if err != nil || u == nil {
		return nil, err
	}
	if !supported {
		return nil, errdefs.FailedPrecondition("%s: runtime handler %q does not support user namespaces (its runtime lacks idmapped mounts; runc >= 1.2 or crun has them)", usernsField, handler)
	}
	return u, nil
}
