package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestAddUserEntries(t *testing.T) {
	const passwd = "root:x:0:0:root:/root:/bin/sh\ntest:x:5000:5000::/home/test:/bin/sh\n"
	const group = "root:x:0:\ntest:x:5000:\n"
	for name, tt := range map[string]struct {
		uid, gid      uint32
		username      string
		mounts        []string
		groupMode     os.FileMode
		passwd, group string // the added line; "" = no file generated
	}{
		"unknown uid and gid":  {uid: 1000, gid: 1002, passwd: "1000:x:1000:1002:1000 user:/tmp:/sbin/nologin\n", group: "1002:x:1002:\n"},
		"named user":           {uid: 1000, gid: 5000, username: "app", passwd: "app:x:1000:5000:app user:/tmp:/sbin/nologin\n"},
		"known ids":            {uid: 5000, gid: 5000},
		"etc mounted":          {uid: 1000, gid: 1002, mounts: []string{"/etc/"}},
		"group mounted":        {uid: 1000, gid: 1002, mounts: []string{"/etc/group"}, passwd: "1000:x:1000:1002:1000 user:/tmp:/sbin/nologin\n"},
		"group world writable": {uid: 1000, gid: 1002, groupMode: 0o666, passwd: "1000:x:1000:1002:1000 user:/tmp:/sbin/nologin\n"},
	} {
		t.Run(name, func(t *testing.T) {
			rootfs, bundle := t.TempDir(), t.TempDir()
			if err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755); err != nil {
				t.Fatal(err)
			}
			mode := tt.groupMode
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte(passwd), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rootfs, "etc/group"), []byte(group), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(rootfs, "etc/group"), mode); err != nil {
				t.Fatal(err)
			}
			s := &specs.Spec{Process: &specs.Process{User: specs.User{UID: tt.uid, GID: tt.gid}}}
			for _, m := range tt.mounts {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: m, Source: "/x", Type: "bind"})
			}
			if err := addUserEntries(rootfs, bundle, s, tt.username); err != nil {
				t.Fatal(err)
			}
			for file, want := range map[string]string{"passwd": tt.passwd, "group": tt.group} {
				b, err := os.ReadFile(filepath.Join(bundle, file))
				mounted := false
				for _, m := range s.Mounts {
					mounted = mounted || (m.Destination == "/etc/"+file && m.Source == filepath.Join(bundle, file))
				}
				if want == "" {
					if err == nil || mounted {
						t.Errorf("%s generated: %q", file, b)
					}
					continue
				}
				orig := passwd
				if file == "group" {
					orig = group
				}
				if string(b) != orig+want || !mounted {
					t.Errorf("%s = %q (mounted %v), want the image's plus %q", file, b, mounted, want)
				}
				if strings.Count(string(b), "\n") != strings.Count(orig, "\n")+1 {
					t.Errorf("%s lines: %q", file, b)
				}
			}
		})
	}
}
