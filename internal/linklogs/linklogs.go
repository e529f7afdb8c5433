// Package linklogs links a pod's logs into one of its volumes, as CRI-O's
// link-logs annotation asks, so a sidecar reads every container's log.
package linklogs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/crio-runtime/crio/internal/annotations"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/pkg/config"
)

// Log linking (CRI-O's link-logs.crio.io / io.kubernetes.cri-o.LinkLogs pod
// annotation, value = an emptyDir volume name): the pod's log directory is
// bind-mounted read-only over that emptyDir, and each container's log gets
// a "<container id>.log" symlink next to it, so a sidecar mounting the
// volume reads every container's log. Failures only warn, as in CRI-O.
const (
	kubeletPodsDir    = "/var/lib/kubelet/pods"
	kubeletPodLogsDir = "/var/log/pods"
	emptyDirPlugin    = "kubernetes.io~empty-dir"
	podUIDLabel       = "io.kubernetes.pod.uid"
)

// dns1123Label is the kubelet's rule for volume names.
var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// linkedLogs is where a pod's logs are linked; zero when the pod does not
// ask for it (or the handler does not allow the annotation).
type linkedLogs struct {
	volume string // host path of the emptyDir volume
	logDir string // the pod's log directory
}

// Linker mounts and links the logs of the pods that ask for it.
type Linker struct {
	Config   func() *config.Config // the running config: its allowed annotations
	CgroupV2 bool                  // the host's hierarchy, as the annotations see it
}

// podLinkedLogs resolves the link-logs annotation of sb. An invalid volume
// name or pod uid is an error (the caller warns).
func (k Linker) podLinkedLogs(sb *sandbox.Sandbox) (linkedLogs, error) {
	cfg := sb.Config.PodSandboxConfig
	eff, err := annotations.Resolve(annotations.PodInput(&k.Config().Crio.Runtime, sb.RuntimeHandler, cfg.GetAnnotations(), k.CgroupV2))
	if err != nil || eff.LinkLogs == "" {
		return linkedLogs{}, nil // refused at RunPodSandbox, or not asked
	}
	md := cfg.GetMetadata()
	uid := cfg.GetLabels()[podUIDLabel]
	if uid == "" {
		uid = md.GetUid()
	}
	return linkTarget(eff.LinkLogs, uid, md.GetNamespace(), md.GetName(), cfg.GetLogDirectory())
}

// linkTarget names the volume and log directory of a pod's linked logs;
// neither can leave the kubelet's directories.
func linkTarget(vol, uid, namespace, name, logDir string) (linkedLogs, error) {
	if len(vol) > 63 || !dns1123Label.MatchString(vol) {
		return linkedLogs{}, fmt.Errorf("link-logs volume %q is not a valid volume name", vol)
	}
	if uid == "" || uid == "." || uid == ".." || strings.ContainsAny(uid, "/\x00") {
		return linkedLogs{}, fmt.Errorf("link-logs: pod uid %q cannot name a kubelet pod directory", uid)
	}
	out := linkedLogs{logDir: logDir}
	var err error
	if out.volume, err = securejoin.SecureJoin(kubeletPodsDir, filepath.Join(uid, "volumes", emptyDirPlugin, vol)); err != nil {
		return linkedLogs{}, fmt.Errorf("link-logs volume: %w", err)
	}
	if out.logDir == "" {
		if out.logDir, err = securejoin.SecureJoin(kubeletPodLogsDir, namespace+"_"+name+"_"+uid); err != nil {
			return linkedLogs{}, fmt.Errorf("link-logs log dir: %w", err)
		}
	}
	return out, nil
}

// mounted reports whether the volume shows the log directory already.
func (l linkedLogs) mounted() bool {
	var a, b unix.Stat_t
	return unix.Stat(l.volume, &a) == nil && unix.Stat(l.logDir, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// MountPod binds the pod's log directory read-only over the volume the
// kubelet made; a repeated call changes nothing.
func (k Linker) MountPod(ctx context.Context, sb *sandbox.Sandbox) {
	l, err := k.podLinkedLogs(sb)
	if err == nil && l.volume != "" && !l.mounted() {
		err = l.mount()
	}
	if err != nil {
		logging.From(ctx).Warn("failed to link pod logs", "pod", sb.ID, "error", err)
	}
}

func (l linkedLogs) mount() error {
	if st, err := os.Stat(l.volume); err != nil || !st.IsDir() {
		return fmt.Errorf("emptyDir volume %s: not a directory (%w)", l.volume, err)
	}
	if err := os.MkdirAll(l.logDir, 0o755); err != nil {
		return fmt.Errorf("pod log dir: %w", err)
	}
	if err := unix.Mount(l.logDir, l.volume, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", l.logDir, l.volume, err)
	}
	// Read-only for the pod: a bind takes MS_RDONLY only on a remount.
	if err := unix.Mount("", l.volume, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		_ = unix.Unmount(l.volume, unix.MNT_DETACH)
		return fmt.Errorf("make %s read-only: %w", l.volume, err)
	}
	return nil
}

// UnmountPod undoes MountPod; only our bind is removed (the volume may be
// the kubelet's own tmpfs).
func (k Linker) UnmountPod(ctx context.Context, sb *sandbox.Sandbox) {
	l, err := k.podLinkedLogs(sb)
	if err != nil || l.volume == "" {
		return
	}
	for l.mounted() {
		if err := unix.Unmount(l.volume, unix.MNT_DETACH); err != nil {
			logging.From(ctx).Warn("failed to unlink pod logs", "pod", sb.ID, "error", err)
			return
		}
	}
}

// LinkContainer adds "<id>.log" -> the container's log, relative so it
// resolves both on the host and in the volume inside containers.
func (k Linker) LinkContainer(ctx context.Context, sb *sandbox.Sandbox, id, logPath string) {
	l, err := k.podLinkedLogs(sb)
	if err != nil || l.volume == "" || logPath == "" || !l.mounted() {
		return
	}
	rel, err := filepath.Rel(l.logDir, logPath)
	if err == nil && strings.HasPrefix(rel, "..") {
		err = fmt.Errorf("log %s is outside the pod log dir %s", logPath, l.logDir)
	}
	if err == nil {
		err = os.Symlink(rel, filepath.Join(l.logDir, id+".log"))
	}
	if err != nil && !errors.Is(err, syscall.EEXIST) {
		logging.From(ctx).Warn("failed to link container log", "container", id, "error", err)
	}
}
