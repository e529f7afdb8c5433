package integration

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"testing"
	"time"

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
