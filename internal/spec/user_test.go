package spec

import (
	"io"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const passwdText = `root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:app user:/home/app:/bin/sh
broken line
mallory:x:notanumber:0::/:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`

const groupText = `root:x:0:
daemon:x:1:
wheel:x:10:root,app
app:x:1000:
audio:x:29:app,other
staff:x:50:
nogroup:x:65534:
`

func passwdFile() io.Reader { return strings.NewReader(passwdText) }
func groupFile() io.Reader  { return strings.NewReader(groupText) }

func i64(v int64) *runtimeapi.Int64Value { return &runtimeapi.Int64Value{Value: v} }

func TestUser(t *testing.T) {
	strict := runtimeapi.SupplementalGroupsPolicy_Strict
	tests := []struct {
		name       string
		imageUser  string
		runAsUser  *runtimeapi.Int64Value
		runAsName  string
		runAsGroup *runtimeapi.Int64Value
		supp       []int64
		policy     *runtimeapi.SupplementalGroupsPolicy
		nonRoot    bool
		noFiles    bool
		uid, gid   int64
		groups     []int64
		home       string
		errKind    string
		errField   string
	}{
		{name: "image default root", uid: 0, gid: 0, groups: []int64{0, 10}, home: "/root"},
		{name: "image user by name", imageUser: "app", uid: 1000, gid: 1000, groups: []int64{1000, 10, 29}, home: "/home/app"},
		{name: "image user by uid", imageUser: "1000", uid: 1000, gid: 1000, groups: []int64{1000, 10, 29}, home: "/home/app"},
		{name: "image uid unknown to passwd", imageUser: "4242", uid: 4242, gid: 0, groups: []int64{0}, home: "/"},
		{name: "image name:group", imageUser: "app:staff", uid: 1000, gid: 50, groups: []int64{50, 10, 29}},
		{name: "image uid:gid", imageUser: "1000:1234", uid: 1000, gid: 1234, groups: []int64{1234, 10, 29}},
		{name: "image unknown name", imageUser: "ghost", errKind: "invalid", errField: "image user"},
		{name: "image unknown group", imageUser: "app:ghosts", errKind: "invalid", errField: "image user"},
		{name: "run_as_user overrides image", imageUser: "app", runAsUser: i64(1), uid: 1, gid: 1, groups: []int64{1}, home: "/usr/sbin"},
		{name: "run_as_user with group", runAsUser: i64(1000), runAsGroup: i64(3000), uid: 1000, gid: 3000, groups: []int64{3000, 10, 29}},
		{name: "run_as_username", runAsName: "app", uid: 1000, gid: 1000, groups: []int64{1000, 10, 29}},
		{name: "run_as_username unknown", runAsName: "ghost", errKind: "invalid", errField: "run_as_username"},
		{name: "run_as_username on a malformed line is not root", runAsName: "mallory", errKind: "invalid", errField: "run_as_username"},
		{name: "run_as_username without passwd", runAsName: "app", noFiles: true, errKind: "invalid", errField: "run_as_username"},
		{name: "both user and username", runAsUser: i64(1), runAsName: "app", errKind: "invalid", errField: "run_as_username"},
		{name: "group without user", runAsGroup: i64(5), errKind: "invalid", errField: "run_as_group"},
		{name: "negative uid", runAsUser: i64(-1), errKind: "invalid", errField: "run_as_user"},
		{name: "supplemental merge", runAsUser: i64(1000), supp: []int64{2000, 10}, uid: 1000, gid: 1000, groups: []int64{1000, 10, 29, 2000}},
		{name: "supplemental strict", runAsUser: i64(1000), supp: []int64{2000}, policy: &strict, uid: 1000, gid: 1000, groups: []int64{1000, 2000}},
		{name: "negative supplemental", runAsUser: i64(1000), supp: []int64{-5}, errKind: "invalid", errField: "supplemental_groups[0]"},
		{name: "no passwd or group files", imageUser: "1000:1000", noFiles: true, uid: 1000, gid: 1000, groups: []int64{1000}},
		{name: "non-root refused for root", nonRoot: true, errKind: "precondition", errField: "runAsNonRoot"},
		{name: "non-root refused for named root", imageUser: "root", nonRoot: true, errKind: "precondition", errField: "runAsNonRoot"},
		{name: "non-root accepted", imageUser: "app", nonRoot: true, uid: 1000, gid: 1000, groups: []int64{1000, 10, 29}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			if !tt.noFiles {
				in.Passwd, in.Group = passwdFile(), groupFile()
			}
			in.Image.User = tt.imageUser
			in.RunAsNonRoot = tt.nonRoot
			s := sc(&in)
			s.RunAsUser, s.RunAsUsername, s.RunAsGroup, s.SupplementalGroups = tt.runAsUser, tt.runAsName, tt.runAsGroup, tt.supp
			if tt.policy != nil {
				s.SupplementalGroupsPolicy = *tt.policy
			}
			res, err := Build(in)
			if tt.errKind != "" {
				checkErr(t, err, tt.errKind, tt.errField)
				return
			}
			checkErr(t, err, "", "")
			u := res.User.GetLinux()
			if u.Uid != tt.uid || u.Gid != tt.gid || !slices.Equal(u.SupplementalGroups, tt.groups) {
				t.Fatalf("user %v, want %d:%d %v", u, tt.uid, tt.gid, tt.groups)
			}
			pu := res.Spec.Process.User
			if int64(pu.UID) != tt.uid || int64(pu.GID) != tt.gid || len(pu.AdditionalGids) != len(tt.groups) {
				t.Fatalf("process user %+v", pu)
			}
			if tt.home != "" && !slices.Contains(res.Spec.Process.Env, "HOME="+tt.home) {
				t.Fatalf("env %q lacks HOME=%s", res.Spec.Process.Env, tt.home)
			}
		})
	}
}
