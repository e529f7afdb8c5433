package image

import (
	"fmt"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/test/registry"
)

func TestShortNames(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "tools/busybox:v1", registry.Image{})
	tests := []struct {
		name, conf, mode, ref string
		wantKind              error
	}{
		{"single search registry", fmt.Sprintf("unqualified-search-registries = [%q]\n", r.Addr), "", "tools/busybox:v1", nil},
		{"alias", fmt.Sprintf("[aliases]\n\"bb\" = \"%s/tools/busybox\"\n", r.Addr), "", "bb:v1", nil},
		{"ambiguous enforcing", fmt.Sprintf("unqualified-search-registries = [\"127.0.0.1:1\", %q]\n", r.Addr), "enforcing", "tools/busybox:v1", errdefs.ErrInvalidArgument},
		{"disabled tries each", fmt.Sprintf("unqualified-search-registries = [\"127.0.0.1:1\", %q]\n", r.Addr), "disabled", "tools/busybox:v1", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.opts.RegistriesConf = e.writeFile("registries.conf", tc.conf+fmt.Sprintf(
				"\n[[registry]]\nlocation = %q\ninsecure = true\n\n[[registry]]\nlocation = \"127.0.0.1:1\"\ninsecure = true\n", r.Addr))
			e.opts.ShortNameMode = tc.mode
			s := e.start()
			id, err := s.Pull(ctxT(t), tc.ref, nil, nil)
			if tc.wantKind != nil {
				wantKind(t, err, tc.wantKind, "short name mode is enforcing, but image name "+tc.ref+" returns ambiguous list")
				return
			}
			if err != nil || id != hexOf(p.ConfigDigest) {
				t.Fatalf("pull %s = %s, %v", tc.ref, id, err)
			}
			if img := mustStatus(t, s, tc.ref); img == nil || img.Id != id {
				t.Fatalf("status by short name %s = %v", tc.ref, img)
			}
		})
	}
}

func TestPrefixRewriteAndBlocked(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	p := r.PushImage(t, "foo/app:v1", registry.Image{})
	e := newEnv(t)
	e.opts.RegistriesConf = e.writeFile("registries.conf", fmt.Sprintf(`
[[registry]]
prefix = "example.com/foo"
location = "%s/foo"
insecure = true

[[registry]]
location = "blocked.example.com"
blocked = true
`, r.Addr))
	s := e.start()
	id := mustPull(t, s, "example.com/foo/app:v1", nil)
	if id != hexOf(p.ConfigDigest) {
		t.Fatalf("id %s", id)
	}
	if img := mustStatus(t, s, "example.com/foo/app:v1"); img == nil || !contains(img.RepoTags, "example.com/foo/app:v1") {
		t.Fatalf("status %v", img)
	}
	_, err := s.Pull(ctxT(t), "blocked.example.com/app:v1", nil, nil)
	wantKind(t, err, errdefs.ErrPermissionDenied, "blocked")
}

func TestTLSAndAuth(t *testing.T) {
	users := map[string]string{"alice": "s3cret"}
	r := registry.Start(t, registry.Options{TLS: true, Users: users})
	p := r.PushImage(t, "secure:v1", registry.Image{})
	ref := r.Ref("secure:v1")
	good := &runtimeapi.AuthConfig{Username: "alice", Password: "s3cret"}

	t.Run("untrusted CA", func(t *testing.T) {
		s := newEnv(t).start()
		_, err := s.Pull(ctxT(t), ref, good, nil)
		wantKind(t, err, errdefs.ErrUnavailable, r.Addr, "TLS")
		storeEmpty(t, s)
	})
	e := newEnv(t)
	e.opts.CertDir = r.CertDir
	s := e.start()
	t.Run("wrong password", func(t *testing.T) {
		_, err := s.Pull(ctxT(t), ref, &runtimeapi.AuthConfig{Username: "alice", Password: "nope"}, nil)
		wantKind(t, err, errdefs.ErrUnauthenticated, r.Addr)
	})
	t.Run("no credentials", func(t *testing.T) {
		_, err := s.Pull(ctxT(t), ref, nil, nil)
		wantKind(t, err, errdefs.ErrUnauthenticated)
	})
	for name, auth := range map[string]*runtimeapi.AuthConfig{
		"username+password": good,
		"auth":              {Auth: "YWxpY2U6czNjcmV0"}, // alice:s3cret
	} {
		t.Run(name, func(t *testing.T) {
			if id := mustPull(t, s, ref, auth); id != hexOf(p.ConfigDigest) {
				t.Fatalf("id %s", id)
			}
		})
	}
	t.Run("global auth file", func(t *testing.T) {
		e2 := newEnv(t)
		e2.opts.CertDir = r.CertDir
		e2.opts.GlobalAuthFile = e2.writeFile("auth.json", fmt.Sprintf(`{"auths":{%q:{"auth":"YWxpY2U6czNjcmV0"}}}`, r.Addr))
		mustPull(t, e2.start(), ref, nil)
	})
}

func TestSignaturePolicyReject(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "ok:v1", registry.Image{})
	r.Push(t, "rejected/app:v1", registry.Image{Cmd: []string{"x"}})
	e := newEnv(t, r.Addr)
	e.opts.SignaturePolicy = e.writeFile("policy.json", fmt.Sprintf(`{
  "default": [{"type": "insecureAcceptAnything"}],
  "transports": {"docker": {%q: [{"type": "reject"}]}}
}`, r.Addr+"/rejected"))
	s := e.start()
	_, err := s.Pull(ctxT(t), r.Ref("rejected/app:v1"), nil, nil)
	wantKind(t, err, errdefs.ErrFailedPrecondition, "reject", r.Addr+"/rejected")
	storeEmpty(t, s)
	mustPull(t, s, r.Ref("ok:v1"), nil)
}

func TestInsecureRegistriesOption(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	r.Push(t, "plain:v1", registry.Image{})
	e := newEnv(t) // registries.conf does not mark it insecure
	s := e.start()
	_, err := s.Pull(ctxT(t), r.Ref("plain:v1"), nil, nil)
	wantKind(t, err, errdefs.ErrUnavailable, r.Addr)
	e2 := newEnv(t)
	e2.opts.InsecureRegistries = []string{"127.0.0.0/8"}
	mustPull(t, e2.start(), r.Ref("plain:v1"), nil)
}
