package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crio-runtime/crio/internal/syncbuf"
	"github.com/crio-runtime/crio/pkg/monitor"
)

func TestTerminalResizeAndAttach(t *testing.T) {
	script := `while stty size; read x; do [ "$x" = q ] && exit 0; done`
	c := newCtr(t, []string{"sh", "-c", script}, bundleOpts{terminal: true})
	c.cfg.Stdin = true
	c.start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := monitor.Resize(ctx, c.cfg.ControlSocket, monitor.Size{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	c.startContainer()
	// The size set before start is the first thing the container sees.
	waitFor(t, "the first stty output", func() bool {
		data, _ := os.ReadFile(c.cfg.LogPath)
		return len(data) > 0
	})
	if recs := readLog(t, c.cfg.LogPath); recs[0].stream != "stdout" || recs[0].tag+" "+recs[0].content != "F 30 100\r" {
		t.Fatalf("first record %+v", recs[0])
	}
	var stdout, stderr syncbuf.Buffer
	resize := make(chan monitor.Size, 1)
	resize <- monitor.Size{Rows: 40, Cols: 120}
	inR, inW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- monitor.Attach(ctx, c.cfg.AttachSocket, inR, &stdout, &stderr, resize) }()
	waitFor(t, "the in-band resize", func() bool {
		_, _ = io.WriteString(inW, "x\n")
		return strings.Contains(stdout.String(), "40 120\r\n")
	})
	_, _ = io.WriteString(inW, "q\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec := c.waitExit(); rec.ExitCode != 0 {
		t.Fatalf("exit record %+v", rec)
	}
	if stderr.String() != "" {
		t.Errorf("tty attach stderr %q", stderr.String())
	}
	for _, r := range readLog(t, c.cfg.LogPath) {
		if r.stream != "stdout" || r.tag != "F" || !strings.HasSuffix(r.content, "\r") {
			t.Errorf("tty record %+v", r)
		}
	}
}

func TestReopenLogUnderLoad(t *testing.T) {
	const rounds, per = 30, 5000
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do seq $((i*%d+1)) $((i*%d+%d)); i=$((i+1)); sleep 0.02; done", rounds, per, per, per)
	c := newCtr(t, []string{"sh", "-c", script}, bundleOpts{})
	c.start()
	c.startContainer()
	files := []string{}
	for n := 0; ; n++ {
		if _, err := monitor.ReadExit(c.cfg.ExitDir, c.id); err == nil {
			break
		}
		rotated := c.cfg.LogPath + "." + strconv.Itoa(n)
		if err := os.Rename(c.cfg.LogPath, rotated); err != nil {
			t.Fatal(err)
		}
		files = append(files, rotated)
		if err := monitor.ReopenLog(context.Background(), c.cfg.ControlSocket); err != nil {
			// The monitor may finish between the check and the request.
			if _, rerr := monitor.ReadExit(c.cfg.ExitDir, c.id); rerr != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(c.cfg.LogPath); err == nil {
		files = append(files, c.cfg.LogPath)
	}
	t.Logf("rotated %d times", len(files)-1)
	var nums []int
	for _, r := range readLog(t, files...) {
		if r.tag != "F" {
			t.Fatalf("unexpected record %+v", r)
		}
		n, err := strconv.Atoi(r.content)
		if err != nil {
			t.Fatalf("bad line %q", r.content)
		}
		nums = append(nums, n)
	}
	sort.Ints(nums)
	if len(nums) != rounds*per {
		t.Fatalf("got %d lines, want %d", len(nums), rounds*per)
	}
	for i, n := range nums {
		if n != i+1 {
			t.Fatalf("line %d missing or duplicated", i+1)
		}
	}
}

func TestOOMKilled(t *testing.T) {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory")); err != nil {
		t.Skip("no cgroup v1 memory controller")
	}
	c := newCtr(t, []string{"sh", "-c", `x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived`}, bundleOpts{memLimit: 8 << 20})
	c.start()
	c.startContainer()
	rec := c.waitExit()
	if !rec.OOMKilled || rec.ExitCode == 0 {
		t.Fatalf("exit record %+v, want OOM kill", rec)
	}
	t.Logf("exit record %+v", rec)
}

// TestMonitorPSS measures the memory of idle monitors; run with -v to see it.
func TestMonitorPSS(t *testing.T) {
	const n = 4
	var ctrs []*ctr
	for i := 0; i < n; i++ {
		c := newCtr(t, []string{"sleep", "1000"}, bundleOpts{})
		c.cfg.Stdin = true
		c.start()
		c.startContainer()
		ctrs = append(ctrs, c)
	}
	time.Sleep(500 * time.Millisecond) // let start-up garbage settle
	for i, c := range ctrs {
		pss, anon, err := memUsage(c.monPID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("monitor %d of %d (pid %d): Pss %d KiB, of which Pss_Anon %d KiB", i+1, n, c.monPID, pss, anon)
		// One P keeps the runtime's per-P memory out of every monitor.
		if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.monPID)); err != nil || !slices.Contains(strings.Split(string(env), "\x00"), "GOMAXPROCS=1") {
			t.Errorf("monitor %d does not run with GOMAXPROCS=1 (%v)", c.monPID, err)
		}
	}
	for _, c := range ctrs {
		c.runcCmd("kill", c.id, "KILL")
		c.waitExit()
	}
}

// TestExitRecordWaitsForSpace: with the exits disk full, the monitor keeps
// the exit code and stays until its record can be written.
func TestExitRecordWaitsForSpace(t *testing.T) {
	c := newCtr(t, []string{"sh", "-c", "exit 7"}, bundleOpts{})
	if err := syscall.Mount("tmpfs", c.cfg.ExitDir, "tmpfs", 0, "size=4k,mode=700"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(c.cfg.ExitDir, syscall.MNT_DETACH) })
	filler := filepath.Join(c.cfg.ExitDir, "filler")
	if err := os.WriteFile(filler, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start()
	c.startContainer()
	waitFor(t, "the monitor's error", func() bool { return strings.Contains(c.monitorLog(), "trying again until there is space") })
	time.Sleep(300 * time.Millisecond)
	// The test process is the monitor's subreaper: a dead one is a zombie.
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.monPID)); err != nil || strings.Contains(string(stat), ") Z ") {
		t.Fatalf("monitor gone with its exit record unwritten: %q %v", stat, err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if rec := c.waitExit(); rec.ExitCode != 7 {
		t.Errorf("exit record once there is space: %+v", rec)
	}
}
