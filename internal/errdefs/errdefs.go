// Package errdefs holds the kinds of failure domain packages report. Only
// server maps a kind to a gRPC code (server.toStatus), so the code an RPC
// answers is decided in one place.
package errdefs

import (
	"errors"
	"fmt"
)

// The kinds. Test with errors.Is; make with the constructors below.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrUnimplemented      = errors.New("unimplemented")
	ErrResourceExhausted  = errors.New("resource exhausted")
	ErrUnavailable        = errors.New("unavailable")
)

// kindError carries a kind and, for invalid arguments, the request field.
type kindError struct {
	kind  error
	field string
	msg   string
	cause error
}

func (e *kindError) Error() string {
	if e.field != "" {
		return e.field + ": " + e.msg
	}
	return e.msg
}

// Is reports the kind, so errors.Is(err, ErrNotFound) works through wrapping.
func (e *kindError) Is(target error) bool { return target == e.kind }

// Unwrap exposes the cause (a %w argument), so errors.Is also finds it.
func (e *kindError) Unwrap() error { return e.cause }

func newKind(kind error, field, format string, args []any) error {
	err := fmt.Errorf(format, args...)
	return &kindError{kind: kind, field: field, msg: err.Error(), cause: errors.Unwrap(err)}
}

// NotFound reports that the named object does not exist.
func NotFound(format string, args ...any) error {
	return newKind(ErrNotFound, "", format, args)
}

// AlreadyExists reports a name or id already taken.
func AlreadyExists(format string, args ...any) error {
	return newKind(ErrAlreadyExists, "", format, args)
}

// Invalid reports a bad request value; field names it as the request spells
// it (e.g. "config.linux.resources.cpuset_cpus"), or is empty.
func Invalid(field, format string, args ...any) error {
	return newKind(ErrInvalidArgument, field, format, args)
}

// FailedPrecondition reports a request the object's state does not allow.
func FailedPrecondition(format string, args ...any) error {
	return newKind(ErrFailedPrecondition, "", format, args)
}

// Unimplemented reports a feature this runtime does not offer.
func Unimplemented(format string, args ...any) error {
	return newKind(ErrUnimplemented, "", format, args)
}

// ResourceExhausted reports a limit reached.
func ResourceExhausted(format string, args ...any) error {
	return newKind(ErrResourceExhausted, "", format, args)
}

// Unavailable reports a transient failure worth a retry.
func Unavailable(format string, args ...any) error {
	return newKind(ErrUnavailable, "", format, args)
}

// Field returns the request field an invalid-argument error names, or "".
func Field(err error) string {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.field
	}
	return ""
}
