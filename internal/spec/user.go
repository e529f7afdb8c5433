package spec

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type resolvedUser struct {
	uid, gid uint32
	groups   []uint32 // primary gid first
	name     string   // "" when the uid has no passwd entry
	home     string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// userStep resolves the process identity and reports it in Result.User.
func (b *builder) userStep() error {
	passwd, err := parsePasswd(b.in.Passwd)
	if err != nil {
		return &InvalidError{Field: "image /etc/passwd", Msg: "unreadable", Err: err}
	}
	groups, err := parseGroup(b.in.Group)
	if err != nil {
		return &InvalidError{Field: "image /etc/group", Msg: "unreadable", Err: err}
	}
	u, err := resolveUser(b.sc, b.in.Image.User, passwd, groups)
	if err != nil {
		return err
	}
	if b.in.RunAsNonRoot && u.uid == 0 {
		return precondition(scField+"run_as_user", "runAsNonRoot is set but the container would run as root (uid 0)")
	}
	b.user = u
	b.g.SetProcessUID(u.uid)
	b.g.SetProcessGID(u.gid)
	b.g.Config.Process.User.AdditionalGids = u.groups
	home := u.home
	if home == "" {
		home = "/"
	}
	b.setEnvDefault("HOME", home)
	if b.in.Sandbox.Hostname != "" {
		b.setEnvDefault("HOSTNAME", b.in.Sandbox.Hostname)
	}
	sup := make([]int64, len(u.groups))
	for i, g := range u.groups {
		sup[i] = int64(g)
	}
	b.res.User = &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{
		Uid: int64(u.uid), Gid: int64(u.gid), SupplementalGroups: sup,
	}}
	return nil
}

func resolveUser(sc *runtimeapi.LinuxContainerSecurityContext, imageUser string, passwd []passwdEntry, groups []groupEntry) (resolvedUser, error) {
	var u resolvedUser
	runAsUser, runAsName, runAsGroup := sc.GetRunAsUser(), sc.GetRunAsUsername(), sc.GetRunAsGroup()
	switch {
	case runAsUser != nil && runAsName != "":
		return u, invalid(scField+"run_as_username", "only one of run_as_user and run_as_username may be set")
	case runAsGroup != nil && runAsUser == nil && runAsName == "":
		return u, invalid(scField+"run_as_group", "set without run_as_user or run_as_username")
	}
	var err error
	switch {
	case runAsName != "":
		p, ok := lookupName(passwd, runAsName)
		if !ok {
			return u, invalid(scField+"run_as_username", "user %q not found in the image's /etc/passwd", runAsName)
		}
		u = resolvedUser{uid: p.uid, gid: p.gid, name: p.name, home: p.home}
	case runAsUser != nil:
		uid, err := toID(runAsUser.GetValue(), scField+"run_as_user")
		if err != nil {
			return u, err
		}
		u = byUID(passwd, uid)
	default:
		if u, err = resolveImageUser(imageUser, passwd, groups); err != nil {
			return u, err
		}
	}
	if runAsGroup != nil {
		if u.gid, err = toID(runAsGroup.GetValue(), scField+"run_as_group"); err != nil {
			return u, err
		}
	}
	u.groups = []uint32{u.gid}
	if sc.GetSupplementalGroupsPolicy() == runtimeapi.SupplementalGroupsPolicy_Merge && u.name != "" {
		for _, g := range groups {
			for _, m := range g.members {
				if m == u.name {
					u.groups = appendUnique(u.groups, g.gid)
				}
			}
		}
	}
	for i, g := range sc.GetSupplementalGroups() {
		gid, err := toID(g, fmt.Sprintf("%ssupplemental_groups[%d]", scField, i))
		if err != nil {
			return u, err
		}
		u.groups = appendUnique(u.groups, gid)
	}
	return u, nil
}

// resolveImageUser handles the image USER forms: "", name, uid, name:group,
// uid:gid (and mixes).
func resolveImageUser(spec string, passwd []passwdEntry, groups []groupEntry) (resolvedUser, error) {
	const field = "image user"
	if spec == "" {
		return byUID(passwd, 0), nil
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	var u resolvedUser
	if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u = byUID(passwd, uint32(n))
	} else {
		p, ok := lookupName(passwd, userPart)
		if !ok {
			return u, invalid(field, "user %q not found in the image's /etc/passwd", userPart)
		}
		u = resolvedUser{uid: p.uid, gid: p.gid, name: p.name, home: p.home}
	}
	if !hasGroup {
		return u, nil
	}
	if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
		u.gid = uint32(n)
		return u, nil
	}
	for _, g := range groups {
		if g.name == groupPart {
			u.gid = g.gid
			return u, nil
		}
	}
	return u, invalid(field, "group %q not found in the image's /etc/group", groupPart)
}

func byUID(passwd []passwdEntry, uid uint32) resolvedUser {
	for _, p := range passwd {
		if p.uid == uid {
			return resolvedUser{uid: uid, gid: p.gid, name: p.name, home: p.home}
		}
	}
	return resolvedUser{uid: uid}
}

func lookupName(passwd []passwdEntry, name string) (passwdEntry, bool) {
	for _, p := range passwd {
		if p.name == name {
			return p, true
		}
	}
	return passwdEntry{}, false
}

func toID(v int64, field string) (uint32, error) {
	if v < 0 || v > math.MaxUint32-1 {
		return 0, invalid(field, "%d is not a valid id", v)
	}
	return uint32(v), nil
}

func appendUnique(s []uint32, v uint32) []uint32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// colonLines yields the fields of non-comment lines with at least n fields;
// malformed lines are skipped like libc does. moby/sys/user's parsers are
// not used: they read an unparsable uid or gid as 0, so a malformed
// /etc/passwd line in an image would resolve its user name to root.
func colonLines(r io.Reader, n int, fn func([]string)) error {
	if r == nil {
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, ":"); len(f) >= n {
			fn(f)
		}
	}
	return sc.Err()
}

func parsePasswd(r io.Reader) ([]passwdEntry, error) {
	var out []passwdEntry
	err := colonLines(r, 4, func(f []string) {
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil || f[0] == "" {
			return
		}
		e := passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)}
		if len(f) > 5 {
			e.home = f[5]
		}
		out = append(out, e)
	})
	return out, err
}

func parseGroup(r io.Reader) ([]groupEntry, error) {
	var out []groupEntry
	err := colonLines(r, 3, func(f []string) {
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil || f[0] == "" {
			return
		}
		e := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			e.members = strings.Split(f[3], ",")
		}
		out = append(out, e)
	})
	return out, err
}
