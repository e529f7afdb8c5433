package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/streaming/client"
	"github.com/crio-runtime/crio/internal/syncbuf"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// infoLine finds an info-level line with msg that holds every part.
func infoLine(logs, msg string, parts ...string) (string, bool) {
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, "level=INFO") || !strings.Contains(l, fmt.Sprintf("msg=%q", msg)) {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l, true
		}
	}
	return "", false
}

// TestInfoLogFollowsLifecycle runs the daemon at log level info and checks
// an operator can follow a pull (through a mirror and a rewrite), a pod and
// a container in its log: each line names the id and the name, and the
// start names the config files, storage driver, cgroup manager, default
// runtime and CNI network.
func TestInfoLogFollowsLifecycle(t *testing.T) {
	framework.RequireRoot(t)
	reg := registry.Start(t, registry.Options{})
	reg.Push(t, "busybox:test", registry.Image{})
	d := framework.NewDaemon(t, framework.Options{
		InsecureRegistries: []string{reg.Addr},
		DropIn:             "[crio.runtime]\nlog_level = \"info\"\n",
	})
	// "mirrored.invalid/lib" is rewritten to the registry, with a mirror
	// that refuses connections tried first.
	rewrite := fmt.Sprintf("[[registry]]\nprefix = \"mirrored.invalid/lib\"\nlocation = %q\ninsecure = true\n"+
		"[[registry.mirror]]\nlocation = \"127.0.0.1:1\"\ninsecure = true\n", reg.Addr)
	if err := os.WriteFile(filepath.Join(d.Dir, "registries.conf.d", "50-rewrite.conf"), []byte(rewrite), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Start()
	ctx := framework.Ctx(t)
	image := "mirrored.invalid/lib/busybox:test"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err != nil {
		t.Fatal(err)
	}
	podCfg := framework.PodConfig("logged")
	podID, _ := runPod(t, d, podCfg)
	resp, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "web"},
			Image: &runtimeapi.ImageSpec{Image: image}, Command: []string{"sleep", "300"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctrID := resp.ContainerId
	steps := []error{}
	_, err = d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctrID})
	steps = append(steps, err)
	_, err = d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctrID, Timeout: 1})
	steps = append(steps, err)
	_, err = d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ctrID})
	steps = append(steps, err)
	_, err = d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID})
	steps = append(steps, err)
	_, err = d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID})
	steps = append(steps, err)
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	// The daemon's stderr is read in the background: wait for the last line.
	waitFor(t, "the last lifecycle line", func() (bool, string) {
		return strings.Contains(d.Logs(), "Removed pod sandbox"), ""
	})
	logs := d.Logs()
	ctr := []string{"container=" + ctrID, "name=web"}
	pod := []string{"pod=" + podID, "name=logged"}
	for _, c := range []struct {
		msg   string
		parts []string
	}{
		{"Read configuration files", []string{d.ConfigFile, "50-test.conf"}},
		{"Using storage", []string{"driver=vfs"}},
		{"Using cgroup manager", []string{"cgroupManager=cgroupfs"}},
		{"Using default runtime", []string{"runtime=runc"}},
		{"Using CNI network", []string{"network="}},
		{"Pulling image", []string{"method=PullImage", "image=" + image}},
		{"Trying to access", []string{"method=PullImage", `reference=127.0.0.1:1/busybox:test`}},
		{"Trying to access", []string{"method=PullImage", "reference=" + reg.Addr + "/busybox:test"}},
		{"Pulled image", []string{"method=PullImage", "image=" + image, "imageID="}},
		{"Running pod sandbox", []string{"name=logged", "namespace=test"}},
		{"Ran pod sandbox", pod},
		{"Creating container", []string{"name=web", "pod=" + podID, "podName=logged"}},
		{"Created container", ctr},
		{"Starting container", ctr},
		{"Started container", ctr},
		{"Stopping container", ctr},
		{"Stopped container", ctr},
		{"Removing container", ctr},
		{"Removed container", ctr},
		{"Stopping pod sandbox", pod},
		{"Stopped pod sandbox", pod},
		{"Removing pod sandbox", pod},
		{"Removed pod sandbox", pod},
	} {
		l, ok := infoLine(logs, c.msg, c.parts...)
		if !ok {
			t.Errorf("no info line %q with %v", c.msg, c.parts)
			continue
		}
		// Lines of a request carry its id.
		if strings.Contains(l, "method=") && !strings.Contains(l, " id=") {
			t.Errorf("line without the request id: %s", l)
		}
	}
	if strings.Contains(logs, "level=DEBUG") {
		t.Error("debug lines at log level info")
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}

// TestStreamingClientDisconnectIsNotAnError: a client that goes away from
// attach or exec while the container writes is logged at debug level, not
// as an error.
func TestStreamingClientDisconnectIsNotAnError(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "detach")
	loop := []string{"sh", "-c", "while true; do echo tick; sleep 0.05; done"}
	id := e.create(t, podID, podCfg, "ticker", loop...)
	e.start(t, id)
	ctx := framework.Ctx(t)
	att, err := e.d.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: id, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	// The exec'd loop ends by itself: exec returns once its process exits.
	ex, err := e.d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Stdout: true,
		Cmd: []string{"sh", "-c", "i=0; while [ $i -lt 40 ]; do echo tick; sleep 0.05; i=$((i+1)); done"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{att.Url, ex.Url} {
		var out syncbuf.Buffer
		sctx, leave := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = client.Run(sctx, url, nil, client.Options{Stdout: &out})
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "tick") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		leave()
		<-done
	}
	// Attach notices on its next write; exec once its process is done.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r, err := e.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"ps", "-o", "args"}, Timeout: 10})
		if err == nil && !strings.Contains(string(r.Stdout), "-lt 40") && strings.Contains(e.d.Logs(), "streaming client disconnected") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs := e.d.Logs()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") {
			t.Errorf("client disconnect logged as an error: %s", l)
		}
	}
	if !strings.Contains(logs, "level=DEBUG msg=\"streaming client disconnected\" stream=attach") {
		t.Error("no debug line for the attach client's disconnect")
	}
}
