package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/crio-runtime/crio/internal/syncbuf"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// TestPumpRecords feeds chunks through a pump and checks the records.
func TestPumpRecords(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		chunks []string
		want   []string // tag + content
	}{
		{"lines in one chunk", 10, []string{"a\nbb\n"}, []string{"F a", "F bb"}},
		{"line across chunks", 10, []string{"ab", "c\n"}, []string{"F abc"}},
		{"empty line", 10, []string{"\n"}, []string{"F "}},
		{"exactly max", 4, []string{"abcd\n"}, []string{"F abcd"}},
		{"one over max", 4, []string{"abcde\n"}, []string{"P abcd", "F e"}},
		{"long across chunks", 4, []string{"abc", "defghij", "\n"}, []string{"P abcd", "P efgh", "F ij"}},
		{"unterminated at EOF", 10, []string{"x\nyz"}, []string{"F x", "P yz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			m := &monitorState{cfg: &monitor.Config{LogLineMax: tc.max}, log: slog.New(slog.DiscardHandler), hub: newHub()}
			if m.logw, err = openLogWriter(path, 0, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			m.startPumps(&containerIO{outR: r})
			for _, c := range tc.chunks {
				// Whole chunks are not guaranteed to arrive in one read, but
				// the records do not depend on read boundaries except for
				// idle flushes, which these tiny writes never hit.
				if _, err := w.WriteString(c); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			m.pumps.Wait()
			m.logw.close()
			var got []string
			for _, rec := range readLog(t, path) {
				if rec.stream != "stdout" {
					t.Errorf("stream %q", rec.stream)
				}
				got = append(got, rec.tag+" "+rec.content)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("records %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogSizeMax(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := openLogWriter(path, 100, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	rec := []byte(strings.Repeat("x", 39) + "\n")
	for i := 0; i < 3; i++ {
		w.write(rec)
	}
	data, _ := os.ReadFile(path)
	if len(data) != 40 {
		t.Fatalf("log size %d after exceeding the limit, want one record", len(data))
	}
}

// TestLogSizeMaxPerRecord: a batch of many records is cut at record
// boundaries, so the file never passes the limit (conmon checks per line).
func TestLogSizeMaxPerRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := openLogWriter(path, 100, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	var batch []byte
	for i := 0; i < 10; i++ {
		batch = append(batch, fmt.Sprintf("%029d\n", i)...) // 30-byte records
	}
	w.write(batch)
	data, _ := os.ReadFile(path)
	if string(data) != string(batch[270:]) {
		t.Errorf("log %q, want the last record alone (records 0-8 filled and dropped three files)", data)
	}
	// A record longer than the limit still lands whole in a fresh file.
	long := []byte(strings.Repeat("y", 150) + "\n")
	w.write(long)
	if data, _ := os.ReadFile(path); string(data) != string(long) {
		t.Errorf("long record: log %q", data)
	}
	w.write([]byte("z\n"))
	if data, _ := os.ReadFile(path); string(data) != "z\n" {
		t.Errorf("after a long record: log %q", data)
	}
}

// TestLogFullDisk: on a full disk a batch is written whole or not at all,
// so the records written once there is space again start lines of their
// own; the monitor warns once and says how much it dropped.
func TestLogFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=12k,mode=700"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 8<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	var logged syncbuf.Buffer
	path := filepath.Join(dir, "log")
	w, err := openLogWriter(path, 0, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	rec := func(i int) []byte { return []byte(fmt.Sprintf("%0999d\n", i)) } // 1000 bytes
	var want []byte
	for i := 0; i < 4; i++ { // 4000 of the file's one page
		w.write(rec(i))
		want = append(want, rec(i)...)
	}
	w.write(rec(4)) // 96 bytes fit
	w.write(rec(5)) // none fit
	if data, _ := os.ReadFile(path); string(data) != string(want) {
		t.Fatalf("log after the disk filled: %d bytes, want the %d of the whole records", len(data), len(want))
	}
	if n := strings.Count(logged.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logged.String())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.write(rec(6))
	want = append(want, rec(6)...)
	if data, _ := os.ReadFile(path); string(data) != string(want) {
		t.Errorf("log once there is space: %q..., want the records before the disk filled and record 6", data[:min(len(data), 40)])
	}
	if !strings.Contains(logged.String(), "droppedBytes=2000") {
		t.Errorf("no count of the dropped bytes:\n%s", logged.String())
	}
	// When the cut itself failed, the next record starts a line of its own.
	w.torn = true
	w.write(rec(7))
	want = append(append(want, '\n'), rec(7)...)
	if data, _ := os.ReadFile(path); string(data) != string(want) {
		t.Errorf("log after a torn write: %d bytes, want %d", len(data), len(want))
	}
}

// TestMonitorLogBounded: the monitor's own log stops at monitorLogMax, and
// records are kept or dropped whole.
func TestMonitorLogBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "monitor.log")
	log := openLogger(path)
	for i := 0; i < 30000; i++ { // ~60 bytes each: 1.8 MB
		log.Warn("attach accept", "err", "too many open files")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > monitorLogMax || len(data) < monitorLogMax-200 {
		t.Errorf("monitor.log is %d bytes, want at most %d and nearly that", len(data), monitorLogMax)
	}
	if !strings.HasSuffix(string(data), "err=\"too many open files\"\n") {
		t.Errorf("last record cut: %q", data[len(data)-80:])
	}
}
