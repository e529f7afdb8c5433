package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultShmSize is the pod's /dev/shm size unless configured (64 MiB, like
// Docker and CRI-O).
const DefaultShmSize = 64 << 20

// Files are the per-pod files containers mount.
type Files struct {
	Hostname   string `json:"hostname"`
	Hosts      string `json:"hosts"`
	ResolvConf string `json:"resolvConf"`
	Shm        string `json:"shm"` // a tmpfs, or /dev/shm for hostIPC pods
}

// WriteFiles creates the pod's hostname, resolv.conf and /dev/shm in dir.
// hosts is written later by WriteHosts, once the pod has an IP.
func WriteFiles(dir string, cfg *runtimeapi.PodSandboxConfig, hostname string, hostIPC bool, shmSize int64) (Files, error) {
	f := Files{
		Hostname:   filepath.Join(dir, "hostname"),
		Hosts:      filepath.Join(dir, "hosts"),
		ResolvConf: filepath.Join(dir, "resolv.conf"),
		Shm:        filepath.Join(dir, "shm"),
	}
	if err := os.WriteFile(f.Hostname, []byte(hostname+"\n"), 0o644); err != nil {
		return f, err
	}
	resolv, err := resolvConf(cfg.GetDnsConfig())
	if err != nil {
		return f, err
	}
	if err := os.WriteFile(f.ResolvConf, resolv, 0o644); err != nil {
		return f, err
	}
	if err := WriteHosts(f.Hosts, hostname, nil); err != nil {
		return f, err
	}
	if hostIPC {
		f.Shm = "/dev/shm"
		return f, nil
	}
	if shmSize <= 0 {
		shmSize = DefaultShmSize
	}
	if err := os.MkdirAll(f.Shm, 0o1777); err != nil {
		return f, err
	}
	opts := fmt.Sprintf("mode=1777,size=%d", shmSize)
	if err := unix.Mount("shm", f.Shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return f, fmt.Errorf("mount pod /dev/shm: %w", err)
	}
	return f, nil
}

func resolvConf(dns *runtimeapi.DNSConfig) ([]byte, error) {
	if dns == nil || len(dns.Servers)+len(dns.Searches)+len(dns.Options) == 0 {
		data, err := os.ReadFile("/etc/resolv.conf")
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return data, err
	}
	var b strings.Builder
	for _, s := range dns.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(dns.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return []byte(b.String()), nil
}

// WriteHosts writes /etc/hosts: localhost, then the pod's IPs with its hostname.
func WriteHosts(path, hostname string, ips []string) error {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, ip := range ips {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// RemoveFiles unmounts the pod's shm and removes dir; safe to repeat.
func RemoveFiles(dir string) error {
	if err := unmountShm(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// unmountShm unmounts the shm of the pod whose files are in dir, if it is
// mounted.
func unmountShm(dir string) error {
	shm := filepath.Join(dir, "shm")
	if err := unix.Unmount(shm, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", shm, err)
	}
	return nil
}
