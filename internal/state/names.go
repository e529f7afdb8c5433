package state

import (
	"errors"
	"sync"
)

// ErrNameTaken is what Reserve returns when another id holds the name.
var ErrNameTaken = errors.New("name is already in use")

// Names reserves object names (pod or container name keys) for ids, so two
// creates with the same name cannot both succeed.
type Names struct {
	mu    sync.Mutex
	names map[string]string
}

// NewNames returns an empty reservation table.
func NewNames() *Names { return &Names{names: map[string]string{}} }

// Reserve gives name to id; if another id holds it, that id is returned with
// ErrNameTaken.
func (n *Names) Reserve(name, id string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if other, ok := n.names[name]; ok && other != id {
		return other, ErrNameTaken
	}
	n.names[name] = id
	return "", nil
}

// Release frees name if id still holds it.
func (n *Names) Release(name, id string) {
	n.mu.Lock()
	if n.names[name] == id {
		delete(n.names, name)
	}
	n.mu.Unlock()
}
