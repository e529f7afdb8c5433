package errdefs

import (
	"errors"
	"io/fs"
	"testing"
)

func TestKinds(t *testing.T) {
	base := fs.ErrNotExist
	err := NotFound("container %q: %w", "abc", base)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("kinds of %v wrong", err)
	}
	wrapped := errors.Join(errors.New("ctx"), Invalid("config.image", "empty"))
	if !errors.Is(wrapped, ErrInvalidArgument) || Field(wrapped) != "config.image" {
		t.Fatalf("wrapped invalid: %v field %q", wrapped, Field(wrapped))
	}
	if got := Invalid("a.b", "bad %d", 3).Error(); got != "a.b: bad 3" {
		t.Fatalf("message %q", got)
	}
}
