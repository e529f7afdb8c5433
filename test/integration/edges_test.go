package integration

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// recvAll reads a stream to its end and returns the ids each message
// carried; an error other than io.EOF (a stream that does not end before
// ctx does) fails the test.
func recvAll[M any](t *testing.T, what string, recv func() (M, error), ids func(M) []string) []string {
	t.Helper()
	var out []string
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			sort.Strings(out)
			return out
		}
		if err != nil {
			t.Fatalf("%s: stream did not end with EOF after %v: %v", what, out, err)
		}
		out = append(out, ids(m)...)
	}
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStatsStreamsEndAfterEachItemOnce: the three stats streams send every
// pod or container exactly once and then close with EOF, like the list
// streams (KEP-5825), instead of re-sending every period.
func TestStatsStreamsEndAfterEachItemOnce(t *testing.T) {
	e := newEnv(t, registry.Image{})
	var pods, ctrs []string
	for _, name := range []string{"stream-a", "stream-b"} {
		podID, podCfg := e.pod(t, name)
		id := e.create(t, podID, podCfg, name, "sleep", "3600")
		e.start(t, id)
		pods, ctrs = append(pods, podID), append(ctrs, id)
	}
	sort.Strings(pods)
	sort.Strings(ctrs)
	// Bounded well below a second stats period plus the first one, so a
	// stream that never ends fails instead of hanging.
	ctx, cancel := context.WithTimeout(framework.Ctx(t), 15*time.Second)
	defer cancel()

	cs, err := e.d.Runtime.StreamContainerStats(ctx, &runtimeapi.StreamContainerStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := recvAll(t, "StreamContainerStats", cs.Recv, func(m *runtimeapi.StreamContainerStatsResponse) []string {
		var ids []string
		for _, s := range m.ContainerStats {
			ids = append(ids, s.GetAttributes().GetId())
		}
		return ids
	})
	if !sameIDs(got, ctrs) {
		t.Errorf("StreamContainerStats sent %v, want %v once each", got, ctrs)
	}

	ps, err := e.d.Runtime.StreamPodSandboxStats(ctx, &runtimeapi.StreamPodSandboxStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got = recvAll(t, "StreamPodSandboxStats", ps.Recv, func(m *runtimeapi.StreamPodSandboxStatsResponse) []string {
		var ids []string
		for _, s := range m.PodSandboxStats {
			ids = append(ids, s.GetAttributes().GetId())
		}
		return ids
	})
	if !sameIDs(got, pods) {
		t.Errorf("StreamPodSandboxStats sent %v, want %v once each", got, pods)
	}

	pm, err := e.d.Runtime.StreamPodSandboxMetrics(ctx, &runtimeapi.StreamPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got = recvAll(t, "StreamPodSandboxMetrics", pm.Recv, func(m *runtimeapi.StreamPodSandboxMetricsResponse) []string {
		var ids []string
		for _, s := range m.PodSandboxMetrics {
			ids = append(ids, s.GetPodSandboxId())
		}
		return ids
	})
	if !sameIDs(got, pods) {
		t.Errorf("StreamPodSandboxMetrics sent %v, want %v once each", got, pods)
	}
}

// TestImageFsInfoCountsHardLinksOnce: an image whose busybox applets are 400
// hard links to the one binary uses about one binary's worth of disk and
// inodes; counting each link in full reported ~800 MB.
func TestImageFsInfoCountsHardLinksOnce(t *testing.T) {
	var links []registry.TarEntry
	for i := range 400 {
		links = append(links, registry.TarEntry{Name: fmt.Sprintf("usr/bin/applet%d", i), Type: tar.TypeLink, Linkname: "bin/busybox"})
	}
	e := newEnv(t, registry.Image{ExtraFiles: links})
	fi, err := os.Stat(registry.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.d.Image.ImageFsInfo(framework.Ctx(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil || len(r.ImageFilesystems) != 1 {
		t.Fatalf("ImageFsInfo: %v %v", r, err)
	}
	used, inodes := r.ImageFilesystems[0].GetUsedBytes().GetValue(), r.ImageFilesystems[0].GetInodesUsed().GetValue()
	// The binary plus small files, directories and symlinks: well under
	// twice the binary, and far fewer inodes than names.
	if size := uint64(fi.Size()); used < size || used > 2*size {
		t.Errorf("image filesystem uses %d bytes; busybox is %d bytes", used, size)
	}
	if inodes == 0 || inodes > 200 {
		t.Errorf("image filesystem uses %d inodes for about 60 files and directories plus 400 links", inodes)
	}
}

// TestCreateContainerHugeRuntimeError: a 70,000 character command makes
// runc's create error longer than a pipe holds; CreateContainer returns
// that error (capped) instead of hanging with the monitor and runc stuck.
func TestCreateContainerHugeRuntimeError(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "huge-err")
	// Bounded well below the monitor's create timeout, so a hang fails
	// the test rather than being rescued by that timeout.
	ctx, cancel := context.WithTimeout(framework.Ctx(t), 60*time.Second)
	defer cancel()
	cmd := "/bin/" + strings.Repeat("x", 70000)
	_, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "huge"},
		Image:    &runtimeapi.ImageSpec{Image: e.image},
		Command:  []string{cmd},
	}})
	if err == nil || status.Code(err) == codes.DeadlineExceeded || ctx.Err() != nil {
		t.Fatalf("want runc's error before the deadline, got %v", err)
	}
	msg := status.Convert(err).Message()
	if !strings.Contains(msg, "file name too long") || !strings.Contains(msg, "bytes of runtime output omitted") {
		t.Errorf("error (%d bytes) is not runc's, capped: ...%s", len(msg), msg[max(0, len(msg)-200):])
	}
	l, err := e.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(l.Containers) != 0 {
		t.Errorf("containers after the failed create: %v %v", l, err)
	}
}

// aliveProc is whether pid runs (a zombie does not).
func aliveProc(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	return i < 0 || i+2 >= len(data) || data[i+2] != 'Z'
}

// TestCreateContainerCancelKillsRuntime: a client giving up on a
// CreateContainer whose runtime hangs gets its answer at once; the creation
// goes on for the kubelet's repeat (see retry_test.go) until the daemon's
// own limit (shortened here), which ends the monitor and the runtime and
// leaves nothing.
func TestCreateContainerCancelKillsRuntime(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	script := filepath.Join(dir, "hang-runtime")
	body := "#!/bin/sh\ncase \" $* \" in *\" create \"*) echo \"$$ $PPID\" > " + pids + ".tmp; mv " + pids + ".tmp " + pids + "; exec sleep 1000;; esac\nexec /usr/bin/runc \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, registry.Image{}, framework.Options{
		Config: "\n[crio.runtime.runtimes.hang]\nruntime_path = \"" + script + "\"\nruntime_root = \"" + filepath.Join(dir, "root") + "\"\n",
		Env:    []string{"CRIO_TEST_CREATE_LIMIT=3s"},
	})
	podCfg := framework.PodConfig("hang")
	pod, err := e.d.Runtime.RunPodSandbox(framework.Ctx(t), &runtimeapi.RunPodSandboxRequest{Config: podCfg, RuntimeHandler: "hang"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(framework.Ctx(t))
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := e.d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod.PodSandboxId, SandboxConfig: podCfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "hung"},
			Image:    &runtimeapi.ImageSpec{Image: e.image},
			Command:  []string{"true"},
		}})
		errc <- err
	}()
	waitFor(t, "the runtime's create to start", func() (bool, string) {
		_, err := os.Stat(pids)
		return err == nil, fmt.Sprint(err)
	})
	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	var rt, mon int
	if _, err := fmt.Sscan(string(data), &rt, &mon); err != nil {
		t.Fatalf("pids %q: %v", data, err)
	}
	cancel()
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Errorf("CreateContainer: %v, want Canceled", err)
	}
	waitFor(t, "the runtime and its monitor to end", func() (bool, string) {
		return !aliveProc(rt) && !aliveProc(mon), fmt.Sprintf("runtime %d alive %v, monitor %d alive %v", rt, aliveProc(rt), mon, aliveProc(mon))
	})
	l, err := e.d.Runtime.ListContainers(framework.Ctx(t), &runtimeapi.ListContainersRequest{})
	if err != nil || len(l.Containers) != 0 {
		t.Errorf("containers after the cancelled create: %v %v", l, err)
	}
}
