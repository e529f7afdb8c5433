package sandbox

import (
	"errors"

	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/state"
)

// Pods is the index of pods by id. The pod manager fills it; the container
// manager reads it (it is made first, so neither manager needs the other
// to exist before it is built).
type Pods struct{ index *state.Index[*Sandbox] }

// NewPods returns an empty index.
func NewPods() *Pods { return &Pods{index: state.NewIndex[*Sandbox]()} }

// Get resolves an id or unique prefix among the pods handed out.
func (p *Pods) Get(idOrPrefix string) (*Sandbox, error) {
	_, sb, err := p.index.Resolve(idOrPrefix)
	if err == nil && sb.hidden.Load() {
		err = state.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, state.ErrAmbiguous) {
			return nil, errdefs.Invalid("", "pod sandbox id %w", err)
		}
		return nil, errdefs.NotFound("pod sandbox %q not found", idOrPrefix)
	}
	return sb, nil
}

// isNotFound: Get's error for an unknown id (stop and remove of one
// succeed, as api.proto says).
func isNotFound(err error) bool {
	return errors.Is(err, errdefs.ErrNotFound)
}

// List returns all pods ordered by id, but those not yet handed out.
func (p *Pods) List() []*Sandbox { return visible(p.index.List()) }

// Exists reports whether id is a pod, handed out or not.
func (p *Pods) Exists(id string) bool {
	_, ok := p.Lookup(id)
	return ok
}

// Lookup returns the pod with this full id, handed out or not (for the
// clean-up of an unclaimed pod).
func (p *Pods) Lookup(id string) (*Sandbox, bool) { return p.index.Get(id) }
