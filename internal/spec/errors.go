package spec

import (
	"fmt"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// InvalidError is bad input (errdefs.ErrInvalidArgument). Field names the CRI
// field (e.g. "linux.security_context.capabilities.add_capabilities[0]").
type InvalidError struct {
	Field string
	Msg   string
	Err   error
}

func (e *InvalidError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("invalid %s: %s: %v", e.Field, e.Msg, e.Err)
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Msg)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// Is makes the error of kind errdefs.ErrInvalidArgument.
func (e *InvalidError) Is(target error) bool { return target == errdefs.ErrInvalidArgument }

// FailedPreconditionError is a request this host cannot honour
// (errdefs.ErrFailedPrecondition).
type FailedPreconditionError struct {
	Field string
	Msg   string
	Err   error
}

func (e *FailedPreconditionError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Field, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

func (e *FailedPreconditionError) Unwrap() error { return e.Err }

// Is makes the error of kind errdefs.ErrFailedPrecondition.
func (e *FailedPreconditionError) Is(target error) bool {
	return target == errdefs.ErrFailedPrecondition
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func precondition(field, format string, args ...any) error {
	return &FailedPreconditionError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
