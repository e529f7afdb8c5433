package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ErrNotFound and ErrAmbiguous are what Resolve returns.
var (
	ErrNotFound  = errors.New("not found")
	ErrAmbiguous = errors.New("ambiguous id prefix")
)

// Index maps full ids to objects and resolves unique prefixes, as crictl
// users type them.
type Index[T any] struct {
	mu   sync.RWMutex
	byID map[string]T
}

// NewID is a new random 64-hex-digit object id (pods and containers).
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewIndex returns an empty index.
func NewIndex[T any]() *Index[T] { return &Index[T]{byID: map[string]T{}} }

// Add stores v under id.
func (x *Index[T]) Add(id string, v T) {
	x.mu.Lock()
	x.byID[id] = v
	x.mu.Unlock()
}

// Remove drops id.
func (x *Index[T]) Remove(id string) {
	x.mu.Lock()
	delete(x.byID, id)
	x.mu.Unlock()
}

// Get returns the object with exactly this id.
func (x *Index[T]) Get(id string) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	v, ok := x.byID[id]
	return v, ok
}

// Resolve finds the object whose id is or starts with prefix.
func (x *Index[T]) Resolve(prefix string) (string, T, error) {
	var zero T
	if prefix == "" {
		return "", zero, fmt.Errorf("empty id: %w", ErrNotFound)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if v, ok := x.byID[prefix]; ok {
		return prefix, v, nil
	}
	var found string
	for id := range x.byID {
		if strings.HasPrefix(id, prefix) {
			if found != "" {
				return "", zero, fmt.Errorf("%q matches %s and %s: %w", prefix, found, id, ErrAmbiguous)
			}
			found = id
		}
	}
	if found == "" {
		return "", zero, fmt.Errorf("%q: %w", prefix, ErrNotFound)
	}
	return found, x.byID[found], nil
}

// List returns all objects ordered by id.
func (x *Index[T]) List() []T {
	x.mu.RLock()
	defer x.mu.RUnlock()
	ids := make([]string, 0, len(x.byID))
	for id := range x.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		out = append(out, x.byID[id])
	}
	return out
}
