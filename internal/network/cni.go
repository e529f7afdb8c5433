package network

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod is what CNI needs to know of a pod.
type Pod struct {
	ID, Name, Namespace, UID string
	NetNS                    string
	PortMappings             []*runtimeapi.PortMapping
	// Annotations and CgroupPath reach plugins declaring CRI-O's capabilities
	// "io.kubernetes.cri.pod-annotations" and "cgroupPath".
	Annotations map[string]string
	CgroupPath  string
	// Bandwidth in bits per second; 0 means unlimited.
	IngressBPS, EgressBPS int64
}

// PodAnnotationsCapability is CRI-O's CNI capability carrying the pod's
// annotations.
const PodAnnotationsCapability = "io.kubernetes.cri.pod-annotations"

// Attachment is what a pod got from ADD; it is persisted with the pod so DEL
// uses the very config ADD used, even after the conf dir changed.
type Attachment struct {
	Network string   `json:"network"`
	Config  []byte   `json:"config"`
	IPs     []string `json:"ips"`
}

// Manager runs CNI ADD, CHECK and DEL.
type Manager struct {
	cni *libcni.CNIConfig

	confs confCache

	mu                sync.Mutex
	dir, name, subnet string
	plugins           pluginPaths
}

// NewManager returns a manager reading configs from dir.
func NewManager(dir, name, subnet string, pluginDirs []string, cacheDir string) *Manager {
	return &Manager{
		cni: libcni.NewCNIConfigWithCacheDir(pluginDirs, cacheDir, nil),
		dir: dir, name: name, subnet: subnet, plugins: pluginPaths{dirs: pluginDirs},
	}
}

// SetSubnet changes the built-in network's subnet (UpdateRuntimeConfig's pod CIDR).
func (m *Manager) SetSubnet(cidr string) error {
	if _, _, err := net.ParseCIDR(cidr); err != nil {
		return fmt.Errorf("pod cidr %q: %w", cidr, err)
	}
	m.mu.Lock()
	m.subnet = cidr
	m.mu.Unlock()
	return nil
}

// Ready reports whether pods can be networked now: a config is loadable
// and every plugin it names (plus loopback) is found in the plugin dirs.
func (m *Manager) Ready() error {
	m.mu.Lock()
	dir, name, subnet := m.dir, m.name, m.subnet
	m.mu.Unlock()
	list, _, err := m.confs.load(dir, name, subnet)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	return m.plugins.check(list)
}

// Close stops watching the conf dir.
func (m *Manager) Close() { m.confs.close() }

func runtimeConf(p Pod) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: p.ID,
		NetNS:       p.NetNS,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", p.Namespace},
			{"K8S_POD_NAME", p.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", p.ID},
			{"K8S_POD_UID", p.UID},
		},
		CapabilityArgs: map[string]any{},
	}
	if len(p.PortMappings) > 0 {
		var pms []map[string]any
		for _, pm := range p.PortMappings {
			if pm.HostPort <= 0 {
				continue
			}
			proto := strings.ToLower(pm.Protocol.String())
			entry := map[string]any{"hostPort": pm.HostPort, "containerPort": pm.ContainerPort, "protocol": proto}
			if pm.HostIp != "" {
				entry["hostIP"] = pm.HostIp
			}
			pms = append(pms, entry)
		}
		if len(pms) > 0 {
			rt.CapabilityArgs["portMappings"] = pms
		}
	}
	// libcni hands a capability only to plugins that declare it; CRI-O
	// always offers the pod's annotations (an empty map when it has none).
	ann := p.Annotations
	if ann == nil {
		ann = map[string]string{}
	}
	rt.CapabilityArgs[PodAnnotationsCapability] = ann
	if p.CgroupPath != "" {
		rt.CapabilityArgs["cgroupPath"] = p.CgroupPath
	}
	if p.IngressBPS > 0 || p.EgressBPS > 0 {
		rt.CapabilityArgs["bandwidth"] = map[string]any{"ingressRate": p.IngressBPS, "ingressBurst": 2147483647, "egressRate": p.EgressBPS, "egressBurst": 2147483647}
	}
	return rt
}

// Plan picks the network pod p joins: the attachment ADD and DEL use, still
// without IPs. The caller can record it before running Add.
func (m *Manager) Plan(p Pod) (*Attachment, error) {
	m.mu.Lock()
	dir, name, subnet := m.dir, m.name, m.subnet
	m.mu.Unlock()
	list, _, err := m.confs.load(dir, name, subnet)
	if err != nil {
		return nil, err
	}
	if !hasHostPorts(p.PortMappings) {
		list = withoutPlugin(list, "portmap")
	}
	// The daemon brings lo up when it makes the pod's netns; loopback in a
	// chain only passes the result on (and its DEL downs lo in a netns
	// about to go), so it is an exec per ADD and DEL for nothing.
	list = withoutPlugin(list, "loopback")
	return &Attachment{Network: list.Name, Config: list.Bytes}, nil
}

// Add runs ADD for a planned attachment and returns the pod's IPs (a is not
// changed, so it can be recorded meanwhile). On failure DEL is run so the
// plugins release what they allocated.
func (m *Manager) Add(ctx context.Context, p Pod, a *Attachment) ([]string, error) {
	list, err := libcni.NetworkConfFromBytes(a.Config)
	if err != nil {
		return nil, fmt.Errorf("cni config of pod %s: %w", p.ID, err)
	}
	rt := runtimeConf(p)
	res, err := m.cni.AddNetworkList(ctx, list, rt)
	var ips []string
	if err == nil {
		ips, err = resultIPs(res)
	}
	if err != nil {
		_ = m.cni.DelNetworkList(context.WithoutCancel(ctx), list, rt)
		return nil, fmt.Errorf("cni network %q: %w", list.Name, err)
	}
	return ips, nil
}

// CachedIPs returns the IPs of a finished ADD from libcni's result cache;
// ok is false when ADD never completed for the pod.
func (m *Manager) CachedIPs(p Pod, a *Attachment) (ips []string, ok bool, err error) {
	list, err := libcni.NetworkConfFromBytes(a.Config)
	if err != nil {
		return nil, false, err
	}
	res, err := m.cni.GetNetworkListCachedResult(list, runtimeConf(p))
	if err != nil || res == nil {
		return nil, false, err
	}
	ips, err = resultIPs(res)
	return ips, err == nil, err
}

func resultIPs(res cnitypes.Result) ([]string, error) {
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	var v4, v6 []string
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() != nil {
			v4 = append(v4, ip.Address.IP.String())
		} else {
			v6 = append(v6, ip.Address.IP.String())
		}
	}
	// IPv4 first: the kubelet takes the first as the pod's primary IP.
	return append(v4, v6...), nil
}

// Check runs CHECK for a pod's attachment.
func (m *Manager) Check(ctx context.Context, p Pod, a *Attachment) error {
	list, err := libcni.NetworkConfFromBytes(a.Config)
	if err != nil {
		return err
	}
	return m.cni.CheckNetworkList(ctx, list, runtimeConf(p))
}

// Teardown runs DEL with the config ADD used. A netns that is already gone
// is passed as "" so plugins still release IPs and host-side rules.
func (m *Manager) Teardown(ctx context.Context, p Pod, a *Attachment) error {
	list, err := libcni.NetworkConfFromBytes(a.Config)
	if err != nil {
		return fmt.Errorf("stored cni config of pod %s: %w", p.ID, err)
	}
	if err := m.cni.DelNetworkList(ctx, list, runtimeConf(p)); err != nil {
		return fmt.Errorf("cni network %q DEL: %w", list.Name, err)
	}
	return nil
}

func hasHostPorts(pms []*runtimeapi.PortMapping) bool {
	for _, pm := range pms {
		if pm.HostPort > 0 {
			return true
		}
	}
	return false
}

// withoutPlugin drops the plugins of one type from the chain (never all of
// them): portmap does nothing for a pod without host ports, nor loopback
// after the daemon's own, but each costs an exec on every ADD and DEL. The
// trimmed list is what the pod stores, so DEL matches ADD.
func withoutPlugin(list *libcni.NetworkConfigList, typ string) *libcni.NetworkConfigList {
	var raw map[string]any
	if json.Unmarshal(list.Bytes, &raw) != nil {
		return list
	}
	plugins, ok := raw["plugins"].([]any)
	if !ok {
		return list
	}
	kept := plugins[:0:0]
	for _, pl := range plugins {
		if m, ok := pl.(map[string]any); ok && m["type"] == typ {
			continue
		}
		kept = append(kept, pl)
	}
	if len(kept) == len(plugins) || len(kept) == 0 {
		return list
	}
	raw["plugins"] = kept
	data, err := json.Marshal(raw)
	if err != nil {
		return list
	}
	trimmed, err := libcni.NetworkConfFromBytes(data)
	if err != nil {
		return list
	}
	return trimmed
}
