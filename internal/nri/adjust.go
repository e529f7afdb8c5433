package nri

import (
	"context"
	"fmt"

	api "github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/runtime-tools/generate"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/cdi"
	"github.com/crio-runtime/crio/internal/container"
	"github.com/crio-runtime/crio/internal/sandbox"
	"github.com/crio-runtime/crio/internal/spec/hostos"
)

// AdjustSpec relays CreateContainer to the plugins with the generated spec
// and applies their adjustment to it, before the runtime sees the spec.
// The returned undo tells the plugins the container is gone, for a create
// that fails after this step. Updates and evictions of other containers
// the plugins ask for are applied here.
func (a *API) AdjustSpec(ctx context.Context, sb *sandbox.Sandbox, c *container.Container, spec *specs.Spec) (func(), error) {
	ad := a.current()
	if ad == nil {
		return func() {}, nil
	}
	req := &api.CreateContainerRequest{Pod: podToNRI(sb), Container: ctrToNRI(c, spec)}
	rpl, err := ad.CreateContainer(ctx, req)
	// Plugins earlier in line may have set resources aside: they hear of
	// the container's end whenever the create fails.
	undo := func() { a.RemoveContainer(context.WithoutCancel(ctx), c) }
	if err != nil {
		undo()
		return nil, fmt.Errorf("NRI CreateContainer: %w", err)
	}
	if err := applyAdjustment(spec, rpl.GetAdjust(), a.dom.CDISpecDirs()); err != nil {
		undo()
		return nil, fmt.Errorf("NRI CreateContainer: apply adjustment: %w", err)
	}
	a.applyUpdates(ctx, rpl.GetUpdate())
	a.applyEvictions(ctx, rpl.GetEvict())
	return undo, nil
}

// applyAdjustment changes spec as adj asks: annotations, env, args, mounts,
// devices, CDI devices (resolved in cdiDirs), hooks, rlimits, resources,
// OOM score, sysctls, namespaces.
func applyAdjustment(spec *specs.Spec, adj *api.ContainerAdjustment, cdiDirs []string) error {
	if adj == nil {
		return nil
	}
	injectCDI := generate.WithCDIDeviceInjector(func(s *specs.Spec, names []string) error {
		return cdi.InjectNamed(cdiDirs, s, names)
	})
	if err := generate.SpecGenerator(specGen{spec}, injectCDI).Adjust(adj); err != nil {
		return err
	}
	// A negative score this daemon may not set would fail the runtime's
	// create: clamp it, as the spec builder does.
	if p := spec.Process; p != nil && p.OOMScoreAdj != nil {
		if minOOM, err := hostos.MinOOMScoreAdj(); err == nil && *p.OOMScoreAdj < minOOM {
			v := minOOM
			p.OOMScoreAdj = &v
		}
	}
	if spec.Process != nil {
		spec.Process.Rlimits = lastRlimits(spec.Process.Rlimits)
	}
	return nil
}

// lastRlimits keeps the last limit of each type: a plugin's limit replaces
// the one the spec had, and the runtime refuses duplicates.
func lastRlimits(in []specs.POSIXRlimit) []specs.POSIXRlimit {
	idx := map[string]int{}
	var out []specs.POSIXRlimit
	for _, r := range in {
		if i, ok := idx[r.Type]; ok {
			out[i] = r
			continue
		}
		idx[r.Type] = len(out)
		out = append(out, r)
	}
	return out
}
