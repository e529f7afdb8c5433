package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

// TestFullLogDiskKeepsWholeRecords: a container logging while its log disk
// fills and empties again. The records that did not fit are dropped whole,
// so every line of the log is one CRI record of one output line (the
// kubelet would otherwise read a torn record joined to the next one), and
// the monitor's own log says when it started dropping and how much.
func TestFullLogDiskKeepsWholeRecords(t *testing.T) {
	e := newEnv(t, registry.Image{Cmd: []string{"sh"}})
	logDir := filepath.Join(e.d.Dir, "podlogs", "fulllog")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", logDir, "tmpfs", 0, "size=256k,mode=700"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(logDir, syscall.MNT_DETACH) })
	podID, podCfg := e.pod(t, "fulllog")
	pad := strings.Repeat("x", 100)
	id := e.create(t, podID, podCfg, "talker", "sh", "-c", `i=0; while :; do i=$((i+1)); echo "line $i `+pad+`"; sleep 0.02; done`)
	e.start(t, id)
	bundle := e.bundle(t, id)
	logPath := filepath.Join(logDir, "talker.log")

	waitFor(t, "five log lines", func() (bool, string) { l := readString(logPath); return strings.Count(l, "\n") >= 5, l })
	fill(t, logDir)
	monitorLog := filepath.Join(bundle, "monitor.log")
	waitFor(t, "the monitor's warning", func() (bool, string) {
		l := readString(monitorLog)
		return strings.Contains(l, "container log write failed"), l
	})
	if err := os.Remove(filepath.Join(logDir, "filler")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writes to work again", func() (bool, string) {
		l := readString(monitorLog)
		return strings.Contains(l, "container log writes work again"), l
	})
	before := strings.Count(readString(logPath), "\n")
	waitFor(t, "three more log lines", func() (bool, string) { l := readString(logPath); return strings.Count(l, "\n") >= before+3, l })
	if _, err := e.d.Runtime.StopContainer(framework.Ctx(t), &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}

	content := regexp.MustCompile(`^line (\d+) ` + pad + `$`)
	last, gaps := 0, 0
	for _, l := range strings.Split(strings.TrimSuffix(readString(logPath), "\n"), "\n") {
		m := logLine.FindStringSubmatch(l)
		var c []string
		if m != nil {
			c = content.FindStringSubmatch(m[3])
		}
		if m == nil || m[2] != "F" || c == nil {
			t.Fatalf("not one whole record: %q", l)
		}
		n, _ := strconv.Atoi(c[1])
		if n <= last {
			t.Fatalf("line %d after line %d", n, last)
		}
		if n > last+1 {
			gaps++
		}
		last = n
	}
	if gaps == 0 {
		t.Error("no lines were dropped while the disk was full")
	}
	if !regexp.MustCompile(`droppedBytes=[1-9]`).MatchString(readString(monitorLog)) {
		t.Errorf("monitor.log does not count the dropped bytes:\n%s", readString(monitorLog))
	}
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
