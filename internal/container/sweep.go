package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/oci"
	"github.com/crio-runtime/crio/internal/proc"
	"github.com/crio-runtime/crio/pkg/monitor"
)

// SweepRuntime runs after Restore: it lists each handler's runtime root and
// deletes the containers no pod or container record owns (a daemon killed
// between the runtime's create and its record), with their monitors,
// bundles, rootfs and exit records; the runtime's delete removes their
// cgroups. Only containers whose bundle is this daemon's are touched, so
// other users of a shared runtime root are left alone. Bundles left without
// a runtime container go too. A pod owns its infra's runtime container only
// while the infra lives: a stopped pod's is one a crash kept from its reap.
func (m *Manager) SweepRuntime(ctx context.Context) {
	log := logging.From(ctx)
	m.reaps.waitAll() // the restore's own stops: not the sweep's to race
	listed, kept := map[string]bool{}, map[string]bool{}
	for name := range m.cfg().Crio.Runtime.Runtimes {
		rt, err := m.Runtime(name)
		if err != nil {
			continue // a handler whose runtime is not installed has nothing
		}
		key := rt.Path + "\x00" + rt.Root
		if listed[key] {
			continue
		}
		listed[key] = true
		list, err := rt.List(ctx)
		if err != nil {
			log.Warn("list runtime containers", "handler", name, "error", err)
			continue
		}
		for _, l := range list {
			if m.owned(l.ID) || l.ID != filepath.Base(l.ID) || l.Bundle != filepath.Join(m.opts.RunDir, l.ID) {
				continue
			}
			log.Warn("deleting a runtime container no record owns", "handler", name, "id", l.ID, "status", l.Status)
			if err := m.deleteOrphan(ctx, rt, l.ID); err != nil {
				log.Error("delete unowned runtime container", "id", l.ID, "error", err)
				kept[l.ID] = true
			}
		}
	}
	m.sweepBundles(ctx, kept)
}

// sweepBundles removes the bundles no record owns (a daemon killed before
// the runtime's create), with their rootfs; kept are runtime containers
// whose deletion failed, whose bundles stay.
func (m *Manager) sweepBundles(ctx context.Context, kept map[string]bool) {
	entries, err := os.ReadDir(m.opts.RunDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		id := strings.TrimSuffix(e.Name(), "-volumes")
		if !e.IsDir() || strings.HasPrefix(id, ".") || kept[id] || m.owned(id) {
			continue
		}
		logging.From(ctx).Warn("removing a bundle no record owns", "id", id)
		m.deleteRootfs(id)
		for _, p := range []string{filepath.Join(m.opts.RunDir, e.Name()), filepath.Join(m.opts.AttachSocketDir, id), filepath.Join(m.opts.ExitsDir, id)} {
			_ = os.RemoveAll(p)
		}
	}
}

// owned reports whether a container record has id, or a pod record whose
// infra is running or being created.
func (m *Manager) owned(id string) bool {
	if _, ok := m.index.Get(id); ok {
		return true
	}
	sb, err := m.pods.Get(id)
	return err == nil && sb.ID == id && sb.HasInfra()
}

// deleteOrphan kills and deletes runtime container id and what the daemon
// made for it.
func (m *Manager) deleteOrphan(ctx context.Context, rt *oci.Runtime, id string) error {
	attach := filepath.Join(m.opts.AttachSocketDir, id)
	monPid, err := monitor.MonitorPID(ctx, filepath.Join(attach, "ctl"))
	var monStart uint64
	if err == nil {
		monStart, _ = proc.StartTime(monPid)
	}
	if err := m.killWithoutMonitor(ctx, ociOps{rt}, id); err != nil {
		return err
	}
	if err := rt.Delete(ctx, id); err != nil {
		return err
	}
	// The monitor exits once it has reaped the container; one that does
	// not is ended (by pidfd, so never another process on a reused pid).
	for deadline := time.Now().Add(2 * time.Second); monStart > 0 && proc.Same(monPid, monStart); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			if err := proc.Signal(monPid, monStart, syscall.SIGKILL); err != nil && !errors.Is(err, proc.ErrGone) {
				return err
			}
			break
		}
	}
	m.deleteRootfs(id)
	for _, p := range []string{filepath.Join(m.opts.RunDir, id), filepath.Join(m.opts.RunDir, id) + "-volumes", attach, filepath.Join(m.opts.ExitsDir, id)} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}
