package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// Epoch is the fixed timestamp used for every tar entry and the config's
// "created", so the same Image always yields the same digests.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// BusyboxPath is the static busybox copied into every image.
var BusyboxPath = "/bin/busybox"

// Applets are the busybox applets symlinked into /bin.
var Applets = []string{
	"sh", "ash", "ls", "cat", "echo", "sleep", "id", "true", "false", "env", "head", "tail",
	"tr", "wc", "dd", "nc", "httpd", "hostname", "stty", "ps", "touch", "mkdir", "rm", "rmdir",
	"cp", "mv", "ln", "chmod", "chown", "grep", "sed", "awk", "find", "test", "[", "printf",
	"pwd", "whoami", "wget", "kill", "mount", "umount", "df", "du", "uname", "date", "stat",
	"timeout", "seq", "yes", "usleep", "mktemp", "basename", "dirname", "expr", "md5sum",
	"sha256sum", "tar", "gzip", "ifconfig", "netstat", "cmp", "diff", "which", "nproc", "free",
	"dmesg", "sysctl", "setsid", "nsenter", "unshare", "groups", "less", "vi", "tty", "getopt",
	"realpath", "truncate", "fallocate", "mkfifo", "hexdump", "od", "base64", "nohup", "ls",
}

// User is an extra /etc/passwd entry.
type User struct {
	Name     string
	UID, GID int
	Home     string // default /home/<name>
}

// Group is an extra /etc/group entry.
type Group struct {
	Name    string
	GID     int
	Members []string
}

// TarEntry is one entry of a layer, written verbatim (so tests can also build
// hostile layers with ".." names or escaping symlinks).
type TarEntry struct {
	Name     string
	Type     byte  // tar.TypeReg (default), tar.TypeDir, tar.TypeSymlink, tar.TypeLink, ...
	Mode     int64 // default 0644 for files, 0755 for dirs, 0777 for symlinks
	Data     []byte
	Linkname string
	UID, GID int
}

// Image describes an image to push. The zero value is a busybox image with
// PATH set and no entrypoint.
type Image struct {
	Entrypoint, Cmd []string
	// Env is the config's environment; a default PATH is added unless Env
	// already has one.
	Env          []string
	User         string
	WorkingDir   string
	Labels       map[string]string
	StopSignal   string
	Volumes      []string
	ExposedPorts []string // e.g. "80/tcp"
	// Annotations are set on the manifest (and the index, if any).
	Annotations map[string]string

	// Users and Groups are appended to /etc/passwd and /etc/group after
	// root and nobody.
	Users  []User
	Groups []Group
	// ExtraFiles are appended to the base layer.
	ExtraFiles []TarEntry
	// ExtraLayers are pushed on top of the base layer, in order.
	ExtraLayers [][]TarEntry
	// RawLayers are pushed verbatim after ExtraLayers as uncompressed tar
	// layers (diff_id = digest of the bytes), e.g. malformed tars.
	RawLayers [][]byte
	// PadLayers adds that many layers, each holding one file of
	// PadLayerSize incompressible pseudo-random bytes derived from Seed, for
	// benchmarks (e.g. 4 x 12.5MB on top of busybox).
	PadLayers    int
	PadLayerSize int64
	// Seed varies the pad content (and so the digests) between images.
	Seed uint64
	// Uncompressed pushes tar layers instead of tar+gzip.
	Uncompressed bool
	// Platforms, when non-empty (e.g. "linux/amd64", "linux/arm64"),
	// pushes one manifest per platform (same layers, config architecture
	// differs) and tags an OCI image index instead of a manifest.
	Platforms []string
	// NoBase leaves out the busybox base layer (only extra/raw/pad layers).
	NoBase bool
}

// layer is one built layer blob.
type layer struct {
	blob      []byte
	diffID    string // sha256 of the uncompressed tar
	mediaType string
}

func (img *Image) buildLayers() ([]layer, error) {
	var tars [][]byte
	if !img.NoBase {
		entries, err := img.baseEntries()
		if err != nil {
			return nil, err
		}
		b, err := writeTar(entries)
		if err != nil {
			return nil, err
		}
		tars = append(tars, b)
	}
	for _, l := range img.ExtraLayers {
		b, err := writeTar(l)
		if err != nil {
			return nil, err
		}
		tars = append(tars, b)
	}
	for i := 0; i < img.PadLayers; i++ {
		b, err := writeTar([]TarEntry{{Name: "pad/", Type: tar.TypeDir},
			{Name: fmt.Sprintf("pad/%d.bin", i), Data: padData(img.Seed, i, img.PadLayerSize)}})
		if err != nil {
			return nil, err
		}
		tars = append(tars, b)
	}
	layers := make([]layer, 0, len(tars)+len(img.RawLayers))
	for _, t := range tars {
		l, err := compressLayer(t, img.Uncompressed)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	for _, raw := range img.RawLayers {
		layers = append(layers, layer{blob: raw, diffID: digestOf(raw), mediaType: mediaTypeOCILayer})
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("image has no layers")
	}
	return layers, nil
}

func compressLayer(t []byte, uncompressed bool) (layer, error) {
	if uncompressed {
		return layer{blob: t, diffID: digestOf(t), mediaType: mediaTypeOCILayer}, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return layer{}, err
	}
	if _, err := zw.Write(t); err != nil {
		return layer{}, err
	}
	if err := zw.Close(); err != nil {
		return layer{}, err
	}
	return layer{blob: buf.Bytes(), diffID: digestOf(t), mediaType: mediaTypeOCILayerGzip}, nil
}

// padData is deterministic, incompressible content for pad layer i.
func padData(seed uint64, i int, size int64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(i))
	src := rand.NewChaCha8(key)
	b := make([]byte, size)
	_, _ = src.Read(b)
	return b
}

func (img *Image) baseEntries() ([]TarEntry, error) {
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox (apt-get install busybox-static): %w", err)
	}
	var e []TarEntry
	for _, d := range []string{"bin/", "dev/", "etc/", "home/", "proc/", "sys/", "usr/", "usr/bin/",
		"usr/sbin/", "sbin/", "var/", "run/"} {
		e = append(e, TarEntry{Name: d, Type: tar.TypeDir})
	}
	e = append(e,
		TarEntry{Name: "root/", Type: tar.TypeDir, Mode: 0o700},
		TarEntry{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		TarEntry{Name: "var/tmp/", Type: tar.TypeDir, Mode: 0o1777},
		TarEntry{Name: "bin/busybox", Mode: 0o755, Data: bb})
	seen := map[string]bool{}
	for _, a := range Applets {
		if seen[a] {
			continue
		}
		seen[a] = true
		e = append(e, TarEntry{Name: "bin/" + a, Type: tar.TypeSymlink, Linkname: "busybox"})
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group := "root:x:0:\nnobody:x:65534:\n"
	for _, u := range img.Users {
		home := u.Home
		if home == "" {
			home = "/home/" + u.Name
		}
		passwd += fmt.Sprintf("%s:x:%d:%d:%s:%s:/bin/sh\n", u.Name, u.UID, u.GID, u.Name, home)
	}
	for _, g := range img.Groups {
		group += fmt.Sprintf("%s:x:%d:%s\n", g.Name, g.GID, strings.Join(g.Members, ","))
	}
	e = append(e,
		TarEntry{Name: "etc/passwd", Data: []byte(passwd)},
		TarEntry{Name: "etc/group", Data: []byte(group)},
		TarEntry{Name: "etc/hostname", Data: []byte("busybox\n")})
	return append(e, img.ExtraFiles...), nil
}

// writeTar writes entries in the given order with fixed timestamps.
func writeTar(entries []TarEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		typ := en.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := en.Mode
		if mode == 0 {
			switch typ {
			case tar.TypeDir:
				mode = 0o755
			case tar.TypeSymlink:
				mode = 0o777
			default:
				mode = 0o644
			}
		}
		hdr := &tar.Header{
			Typeflag: typ, Name: en.Name, Linkname: en.Linkname, Mode: mode,
			Uid: en.UID, Gid: en.GID, ModTime: Epoch, Format: tar.FormatPAX,
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(en.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar header %q: %w", en.Name, err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(en.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digestOf(b []byte) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
}
