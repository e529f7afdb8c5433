package errdefs

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestKinds(t *testing.T) {
	base := fs.ErrNotExist
	err := NotFound("container %q: %w", "abc", base)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("kinds of %v wrong", err)
	}
	wrapped := errors.Join(errors.New("ctx"), Invalid("config.image", "empty"))
	if !errors.Is(wrapped, ErrInvalidArgument) || !strings.Contains(wrapped.Error(), "config.image") {
		t.Fatalf("wrapped invalid: %v", wrapped)
	}
	if got := Invalid("a.b", "bad %d", 3).Error(); got != "a.b: bad 3" {
		t.Fatalf("message %q", got)
	}
}

func TestOuterKindAndWrapf(t *testing.T) {
	inner := NotFound("container %q not found", "t")
	outer := FailedPrecondition("target: %w", inner)
	if Kind(outer) != ErrFailedPrecondition || !errors.Is(outer, ErrNotFound) {
		t.Errorf("outer %v: kind %v", outer, Kind(outer))
	}
	if Kind(errors.New("plain")) != nil || Kind(fmt.Errorf("a: %w", ErrUnavailable)) != ErrUnavailable {
		t.Error("kind of a plain error or a wrapped sentinel")
	}
	w := Wrapf(inner, "field %s", "f")
	if Kind(w) != ErrNotFound || w.Error() != `field f: container "t" not found` {
		t.Errorf("Wrapf kept %v: %q", Kind(w), w)
	}
	if Kind(Wrapf(errors.New("runc failed"), "start")) != ErrUnknown {
		t.Error("a plain error wrapped is of kind unknown")
	}
	if got := Invalid("container_id", "container_id is required").Error(); got != "container_id is required" {
		t.Errorf("a message naming its field first: %q", got)
	}
}
