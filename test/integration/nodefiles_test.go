package integration

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

const testZone = "Asia/Tokyo"

// nodeFilesEnv starts a daemon whose config sets every node-file key: an
// OCI hooks dir whose hooks log "<stage>" per container id to hookOut, a
// mounts.conf with a secret dir, a device, a timezone, a default env, a
// path to reject when absent, and a handler "strict" with its own seccomp
// profile that denies mkdir.
func nodeFilesEnv(t *testing.T) (e *env, hookOut, tmp string) {
	t.Helper()
	framework.RequireRoot(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	if _, err := os.Stat(filepath.Join("/usr/share/zoneinfo", testZone)); err != nil {
		t.Skip("no tzdata on this host")
	}
	tmp = t.TempDir()
	hooksDir, hookOut := filepath.Join(tmp, "hooks.d"), filepath.Join(tmp, "hook-out")
	secrets := filepath.Join(tmp, "secrets")
	for _, d := range []string{hooksDir, hookOut, filepath.Join(secrets, "sub")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(secrets, "sub", "token"), []byte("s3cret"), 0o600))
	script := filepath.Join(tmp, "hook.sh")
	// runc passes the state JSON on stdin; the id names the log file.
	must(t, os.WriteFile(script, []byte("#!/bin/sh\nid=$(sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')\necho \"$1\" >> "+hookOut+"/$id\n"), 0o755))
	hook := func(name, stage, when string) {
		body := `{"version":"1.0.0","hook":{"path":"` + script + `","args":["hook.sh","` + stage + `"]},"when":` + when + `,"stages":["` + stage + `"]}`
		must(t, os.WriteFile(filepath.Join(hooksDir, name), []byte(body), 0o644))
	}
	hook("10-create.json", "createRuntime", `{"always":true}`)
	hook("20-prestart.json", "prestart", `{"annotations":{"^hooks\\.example/trace$":"^on$"}}`)
	hook("30-poststart.json", "poststart", `{"always":true}`)
	hook("40-poststop.json", "poststop", `{"hasBindMounts":true}`)
	hook("50-never.json", "poststart", `{"commands":["^/never$"]}`)
	mountsConf := filepath.Join(tmp, "mounts.conf")
	must(t, os.WriteFile(mountsConf, []byte("# node secrets\n"+secrets+":/run/secrets/node\n/nonexistent/x:/run/x\n"), 0o644))
	profile := filepath.Join(tmp, "strict.json")
	must(t, os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644))
	e = newEnvWith(t, registry.Image{}, framework.Options{DropIn: `
[crio.runtime]
hooks_dir = ["` + filepath.Join(tmp, "absent.d") + `", "` + hooksDir + `"]
default_mounts_file = "` + mountsConf + `"
additional_devices = ["/dev/null:/dev/node-null:rw"]
timezone = "` + testZone + `"
default_env = ["NODE_ENV_TEST=node"]
absent_mount_sources_to_reject = ["` + filepath.Join(tmp, "reject-me") + `"]
allowed_devices = ["/dev/null"]

[crio.runtime.runtimes.strict]
runtime_path = "` + runc + `"
runtime_root = "` + filepath.Join(tmp, "strict-root") + `"
seccomp_profile = "` + profile + `"
allowed_annotations = ["devices.crio.io"]
`})
	return e, hookOut, tmp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestNodeFilesAndHooks proves each node-file key on a real container.
func TestNodeFilesAndHooks(t *testing.T) {
	e, hookOut, tmp := nodeFilesEnv(t)
	podID, podCfg, err := e.annotatedPod(t, "nodefiles", "", map[string]string{"hooks.example/trace": "on"})
	must(t, err)
	mounted := filepath.Join(tmp, "created-me", "sub")
	id := e.createWith(t, podID, podCfg, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "main"},
		Command:  []string{"sleep", "3600"},
		Mounts:   []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: mounted}},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		}},
	})
	zone, err := os.ReadFile(filepath.Join("/usr/share/zoneinfo", testZone))
	must(t, err)
	sum := md5.Sum(zone)
	tests := []struct {
		key string
		cmd []string
		// want is a substring of stdout; fail wants a non-zero exit.
		want string
		fail bool
	}{
		{key: "default_env", cmd: []string{"env"}, want: "NODE_ENV_TEST=node"},
		{key: "default_mounts_file", cmd: []string{"cat", "/run/secrets/node/sub/token"}, want: "s3cret"},
		{key: "default_mounts_file absent entry skipped", cmd: []string{"ls", "/run/x"}, fail: true},
		{key: "additional_devices", cmd: []string{"sh", "-c", "ls -l /dev/node-null && echo ok > /dev/node-null"}, want: "1,"},
		{key: "timezone", cmd: []string{"md5sum", "/etc/localtime"}, want: hex.EncodeToString(sum[:])},
		{key: "absent_mount_sources_to_reject (other path created)", cmd: []string{"ls", "-d", "/data"}, want: "/data"},
		{key: "global seccomp profile (mkdir allowed)", cmd: []string{"mkdir", "/tmp/d"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			out, stderr, code := e.exec(t, id, tt.cmd...)
			if (code != 0) != tt.fail || !strings.Contains(out, tt.want) {
				t.Fatalf("%v: exit %d, stdout %q, stderr %q; want %q", tt.cmd, code, out, stderr, tt.want)
			}
		})
	}
	t.Run("absent_mount_sources_to_reject", func(t *testing.T) {
		if _, err := os.Stat(mounted); err != nil {
			t.Fatalf("absent mount source not created: %v", err)
		}
		_, err := e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "rejected"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"true"},
			Mounts: []*runtimeapi.Mount{{ContainerPath: "/etc/hostname-like", HostPath: filepath.Join(tmp, "reject-me")}},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reject-me") {
			t.Fatalf("create with a rejected absent source: %v", err)
		}
		if _, err := os.Stat(filepath.Join(tmp, "reject-me")); err == nil {
			t.Fatal("rejected path was created")
		}
	})
	t.Run("seccomp_profile per handler and allowed_devices", func(t *testing.T) {
		sp, spCfg, err := e.annotatedPod(t, "strict", "strict", map[string]string{"devices.crio.io": "/dev/null:/dev/ann-null"})
		must(t, err)
		sid := e.createWith(t, sp, spCfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "strict"},
			Command:  []string{"sleep", "3600"},
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			}},
		})
		if out, stderr, code := e.exec(t, sid, "mkdir", "/tmp/d"); code == 0 {
			t.Fatalf("mkdir allowed under the handler's profile: %q %q", out, stderr)
		}
		// allowed_devices: the listed device comes in through the annotation,
		// one not listed (though CRI-O's default list has it) is refused.
		if out, stderr, code := e.exec(t, sid, "ls", "/dev/ann-null"); code != 0 {
			t.Fatalf("allowed device missing: %q %q", out, stderr)
		}
		fp, fpCfg, err := e.annotatedPod(t, "fuse", "strict", map[string]string{"devices.crio.io": "/dev/fuse"})
		must(t, err)
		_, err = e.d.Runtime.CreateContainer(framework.Ctx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: fp, SandboxConfig: fpCfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "fuse"}, Image: &runtimeapi.ImageSpec{Image: e.image}, Command: []string{"true"},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "allowed_devices") {
			t.Fatalf("device outside allowed_devices: %v", err)
		}
	})
	t.Run("hooks_dir", func(t *testing.T) {
		lines := func(cid string) []string {
			b, _ := os.ReadFile(filepath.Join(hookOut, cid))
			return strings.Fields(string(b))
		}
		if got, want := lines(id), []string{"prestart", "createRuntime", "poststart"}; !slices.Equal(got, want) {
			t.Fatalf("hooks run %v, want %v", got, want)
		}
		ctx := framework.Ctx(t)
		if _, err := e.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Contains(lines(id), "poststop") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if got := lines(id); !slices.Contains(got, "poststop") {
			t.Fatalf("poststop did not run: %v", got)
		}
		// A pod without the annotation and a container without mounts gets
		// only the unconditional hooks.
		pod2, cfg2, err := e.annotatedPod(t, "plain", "", nil)
		must(t, err)
		id2 := e.sleeper(t, pod2, cfg2, "plain")
		if got, want := lines(id2), []string{"createRuntime", "poststart"}; !slices.Equal(got, want) {
			t.Fatalf("plain container hooks %v, want %v", got, want)
		}
	})
}
