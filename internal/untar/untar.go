// Package untar unpacks image layers in-process, confined to the layer
// directory, instead of containers/storage's per-layer re-exec of the
// daemon binary ("storage-untar": ~20 ms of process start per layer for a
// 48 MB binary, most of a small pull).
//
// The confinement is the same idea as the re-exec: the archive is
// unpacked by containers/storage's own archive.Unpack on an OS thread
// whose root directory is the layer directory. The thread unshares its
// filesystem attributes (CLONE_FS: root, cwd, umask) from the rest of the
// process, chroots into the destination and is never handed back to the Go
// scheduler: the goroutine stays locked to it and exits, which ends the
// thread. Nothing else runs on that thread, so no other goroutine ever
// resolves a path against the layer's root, and symlinks or "../" in the
// archive resolve inside the layer (the kernel stops ".." at the root).
//
// Unlike the re-exec this does not pivot_root in a new mount namespace:
// that hides the host's mounts from code running after the chroot, which
// matters for a process that might be tricked into calling chroot again;
// Unpack only creates files, so path resolution is what needs confining,
// and chroot gives it.
package untar

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/containers/storage/pkg/archive"
	"github.com/containers/storage/pkg/chrootarchive"
	"github.com/containers/storage/pkg/idtools"
	"github.com/containers/storage/pkg/unshare"
	"golang.org/x/sys/unix"
)

// pipeBuffer is how much of the layer passes to the unpacking thread per
// wake-up: handing it every tar header on its own (the unbuffered pipe
// did) costs a thread switch each, a third of a busybox layer's apply.
const pipeBuffer = 256 << 10

// calls counts unpacks done in-process (tests check the hook is live).
var calls atomic.Int64

// Calls returns how many layers were unpacked in-process.
func Calls() int64 { return calls.Load() }

// pipeReads counts the unpacking threads' reads of their pipes (tests).
var pipeReads atomic.Int64

type countingReader struct{ r io.Reader }

func (c countingReader) Read(p []byte) (int, error) {
	pipeReads.Add(1)
	return c.r.Read(p)
}

// UntarUncompressed has chrootarchive.UntarUncompressed's signature and
// contract: it unpacks an uncompressed tar stream into dest, which
// becomes the root for every path in the archive. When the thread cannot
// be confined (no CAP_SYS_CHROOT, say) it falls back to the re-exec.
func UntarUncompressed(tarArchive io.Reader, dest string, options *archive.TarOptions) error {
	if tarArchive == nil {
		return errors.New("empty archive")
	}
	if options == nil {
		options = &archive.TarOptions{InUserNS: unshare.IsRootless()}
	}
	dest = filepath.Clean(dest)
	if _, err := os.Lstat(dest); os.IsNotExist(err) {
		rootIDs := idtools.NewIDMappingsFromMaps(options.UIDMaps, options.GIDMaps).RootPair()
		if err := idtools.MkdirAllAndChownNew(dest, 0o755, rootIDs); err != nil {
			return fmt.Errorf("create layer dir: %w", err)
		}
	}
	// Unpack reads from a pipe, not from tarArchive itself: whatever the
	// caller's reader does (digesting, tar-split, decompression) then runs
	// on ordinary threads, never on the confined one.
	pr, pw := io.Pipe()
	ready := make(chan error, 1)
	done := make(chan error, 1)
	go confined(dest, ready, func() error {
		// Buffered: each read of the pipe wakes this locked thread from
		// another one, and Unpack reads every 512-byte header on its own.
		br := bufio.NewReaderSize(countingReader{pr}, pipeBuffer)
		if err := archive.Unpack(br, "/", options); err != nil {
			return err
		}
		// Like the re-exec: consume trailing zero padding so the caller's
		// digest covers the whole stream.
		_, err := io.Copy(io.Discard, br)
		return err
	}, done)
	if err := <-ready; err != nil {
		_ = pr.Close()
		return chrootarchive.UntarUncompressed(tarArchive, dest, options)
	}
	calls.Add(1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		// Batched: storage's reader chain (tar-split, the id logger)
		// passes the layer on in pieces as small as one tar header.
		bw := bufio.NewWriterSize(pw, pipeBuffer)
		_, err := io.Copy(bw, tarArchive)
		if err == nil {
			err = bw.Flush()
		}
		_ = pw.CloseWithError(err) // nil: EOF for the reader
	}()
	err := <-done
	_ = pr.CloseWithError(errors.New("unpack finished")) // unblocks the copier after a failure
	copied.Wait()
	if err != nil {
		return fmt.Errorf("unpack layer into %s: %w", dest, err)
	}
	return nil
}

// confined runs fn on a thread of its own whose root is dir. It reports
// the setup's outcome on ready (fn does not run when that is an error),
// then fn's on done. The goroutine never unlocks its thread, so the Go
// runtime ends the thread when the goroutine returns.
func confined(dir string, ready chan<- error, fn func() error, done chan<- error) {
	runtime.LockOSThread()
	if err := enter(dir); err != nil {
		ready <- err
		return
	}
	ready <- nil
	done <- recovered(fn)
}

// recovered runs fn, turning a panic in the unpacker into an error: the
// re-exec'd unpacker's crash failed one layer, not the daemon.
func recovered(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unpacker panicked: %v", r)
		}
	}()
	return fn()
}

func enter(dir string) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs attributes: %w", err)
	}
	if err := unix.Chroot(dir); err != nil {
		return fmt.Errorf("chroot %s: %w", dir, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	return nil
}
