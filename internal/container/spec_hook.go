package container

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crio-runtime/crio/internal/sandbox"
)

// SpecAdjuster may change a container's generated spec before the runtime
// creates it (NRI plugins). The undo it returns runs if the create fails
// later; an error fails the create.
type SpecAdjuster interface {
	AdjustSpec(ctx context.Context, sb *sandbox.Sandbox, c *Container, spec *specs.Spec) (undo func(), err error)
}

// adjustSpec runs the configured adjuster, if any, and queues its undo.
func (m *Manager) adjustSpec(ctx context.Context, sb *sandbox.Sandbox, c *Container, spec *specs.Spec, push func(func())) error {
	if m.opts.SpecAdjuster == nil {
		return nil
	}
	u, err := m.opts.SpecAdjuster.AdjustSpec(ctx, sb, c, spec)
	if err != nil {
		return err
	}
	push(u)
	return nil
}
